"""The one cap on request bodies, applied to every route (app.factory installs it as middleware).

Every route that takes a body (POST /graphql, POST /webhooks/stripe, the sandbox's forms) reads
it whole, so the cap is checked once, in front of them all: a declared Content-Length over the
cap is refused before anything is read; a chunked body is counted as it streams and refused as
soon as it passes the cap. A body that fits is handed on in one piece, so the application (and
the catalog cache in front of /graphql) reads it as usual, knowing it is at most MAX_BODY_BYTES.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000
# The whole body, once read here, is also left in the scope under this key, so that the wrappers
# of /graphql (persisted queries, the answer cache) take it from there instead of reading it again.
BODY = "storefront.body"


class RequestBodyLimit:
    """`larger`: the few paths allowed a bigger cap, by exact path (the dashboard's catalog upload)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        cap = self.larger.get(scope["path"], self.max_bytes)
        declared = _content_length(scope)
        if declared == "invalid":
            await _refuse(send, 400, "Content-Length must be a number of bytes.")
            return
        if declared is not None and declared > cap:
            await _refuse(send, 413, self._too_large(cap))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > cap:
                await _refuse(send, 413, self._too_large(cap))
                return
            if not message.get("more_body", False):
                break
        whole = scope[BODY] = bytes(body)
        await self.app(scope, replay_body(whole, receive), send)

    def _too_large(self, cap: int) -> str:
        return f"The request body is larger than {cap} bytes."


def _content_length(scope: Scope) -> int | str | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else "invalid"
    return None


async def read_body(scope: Scope, receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and the `receive` to hand on, which answers the body again."""
    body = scope.get(BODY)
    if body is not None:  # read by RequestBodyLimit: `receive` still answers it
        return body, receive
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            return body, replay_body(body, receive)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """`receive` that first answers the whole body already read, then what `receive` answers."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, reason: str) -> None:
    body = reason.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is left unread: the connection cannot carry another request.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
