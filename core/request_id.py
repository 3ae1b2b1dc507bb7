"""A request id per HTTP request or WebSocket connection, for logs and masked errors."""

from __future__ import annotations

import os
import random
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


# 128 random bits per id from a generator the OS seeds once per process (and again in a forked
# child, which must not repeat its parent's ids): an id names a request in logs and masked errors
# and is no secret, so it need not cost a getrandom(2) system call per request.
_ids = random.Random(secrets.token_bytes(32))  # noqa: S311 (not a secret, see above)
os.register_at_fork(after_in_child=lambda: _ids.seed(secrets.token_bytes(32)))


def _new_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


class RequestIdMiddleware:
    """Give every request an id, answer it in `X-Request-ID`, and expose it to logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _new_id()
        token = _request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            # A WebSocket's messages pass unwrapped: the header goes on HTTP answers only, and a
            # subscription event to ten thousand subscribers is ten thousand sends.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            _request_id.reset(token)
