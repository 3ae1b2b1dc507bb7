"""Who is asking: the viewer behind the access token of a request.

HTTP requests carry the token as `Authorization: Bearer <jwt>`, WebSocket connections as
{"authorization": "Bearer <jwt>"} in their connection_init payload. A missing, malformed,
forged or expired token means signed out; operations that need a user raise Unauthenticated.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket

from domain.access import UserRow, Viewer, viewer_of
from domain.auth import session_of_access_token, user_of_access_token
from graph.context import Context, Info
from graph.errors import Forbidden, Unauthenticated

__all__ = ["Viewer", "current_user", "login_of", "require_staff", "require_viewer", "viewer"]


def _bearer(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _credentials(context: Context) -> str | None:
    if isinstance(context.request, WebSocket):
        params = context.connection_params
        if not isinstance(params, Mapping):
            return None
        value = next((value for key, value in params.items() if str(key).lower() == "authorization"), None)
        return _bearer(value)
    return _bearer(context.request.headers.get("authorization"))


def login_of(info: Info) -> uuid.UUID | None:
    """The login (refresh-token family) the request's access token names, read from the token alone.

    It says nothing of whether that login is still live: `viewer` asks the database.
    """
    token = _credentials(info.context)
    return session_of_access_token(token, info.context.jwt_secret) if token else None


async def _look_up(context: Context) -> UserRow | None:
    token = _credentials(context)
    if token is None:
        return None
    async with context.read_engine.connect() as conn:
        return await user_of_access_token(conn, token, context.jwt_secret)


async def current_user(info: Info) -> UserRow | None:
    """The signed-in user, or None. Looked up once per HTTP request.

    A WebSocket context lives as long as its connection, so there every call looks again and a
    token that expires mid-connection stops counting.
    """
    context = info.context
    if isinstance(context.request, WebSocket):
        return await _look_up(context)
    if context.viewer_lookup is None:
        if _credentials(context) is None:  # a guest: nothing to look up, no task to run
            return None
        context.viewer_lookup = asyncio.ensure_future(_look_up(context))
    return await context.viewer_lookup


async def viewer(info: Info) -> Viewer | None:
    return viewer_of(await current_user(info))


async def require_viewer(info: Info) -> Viewer:
    signed_in = await viewer(info)
    if signed_in is None:
        raise Unauthenticated()
    return signed_in


async def require_staff(info: Info) -> Viewer:
    reader = await require_viewer(info)
    if not reader.is_staff:
        raise Forbidden("Only staff may do this.")
    return reader
