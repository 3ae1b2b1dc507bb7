"""Starlette's CORSMiddleware, with a shorter path for requests that carry no Origin header.

Such a request (an app, a server, curl, a same-origin GET of a page) gets no CORS headers; Starlette
only adds `Origin` to the answer's Vary header, after building a header view of the request and
one of the answer. This does the same to the answer's header list directly. Requests with an
Origin go through Starlette's middleware unchanged (preflights, allowed and refused origins).
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send


class Cors(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def send_varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = vary_on_origin(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_varying)


def vary_on_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with `Origin` added to Vary as Starlette adds it: one Vary header, where the first was."""
    found = [index for index, (name, _) in enumerate(headers) if name == b"vary"]
    value = b", ".join([*(headers[index][1] for index in found), b"Origin"])
    if not found:
        headers.append((b"vary", value))
        return headers
    for index in reversed(found[1:]):
        del headers[index]
    headers[found[0]] = (b"vary", value)
    return headers
