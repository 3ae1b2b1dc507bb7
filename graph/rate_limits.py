"""Rate limits as the GraphQL layer applies them: who the client is, and how a refusal is answered."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response

from domain import rate_limits
from domain.rate_limits import Limited, Refusal
from graph.common.types import UserError, user_errors
from graph.context import Info


def client_address(info: Info) -> str | None:
    """The address uvicorn gives: the peer's, or X-Forwarded-For's when the peer is a trusted proxy."""
    client = info.context.request.client
    return client.host if client else None


async def refused(info: Info, attempts: Sequence[Limited]) -> list[UserError]:
    """Count the attempts; when one is over its limit, the userErrors to answer, and a Retry-After header."""
    return answer(info, await rate_limits.count(info.context.engine, attempts))


def answer(info: Info, refusal: Refusal | None) -> list[UserError]:
    """The userErrors of a refusal (none: not refused), and its Retry-After header."""
    if refusal is None:
        return []
    response = info.context.response
    if isinstance(response, Response):  # a WebSocket has no headers to set
        earlier = response.headers.get("retry-after")
        retry_after = max(refusal.retry_after, int(earlier)) if earlier else refusal.retry_after
        response.headers["Retry-After"] = str(retry_after)
    return user_errors([refusal.problem])
