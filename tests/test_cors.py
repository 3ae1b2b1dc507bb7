"""core.cors.Cors answers exactly as Starlette's CORSMiddleware does (its shorter path included)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from core.cors import Cors

ANSWERS = [
    [(b"content-type", b"application/json")],
    [(b"vary", b"Accept-Encoding"), (b"content-type", b"text/html")],
    [(b"vary", b"Accept"), (b"x-a", b"1"), (b"vary", b"Authorization"), (b"x-b", b"2")],
    [],
]
REQUESTS = [[], [(b"origin", b"https://shop.example")], [(b"origin", b"https://evil.example")]]


def answered(middleware: type[CORSMiddleware], request: list[tuple[bytes, bytes]], answer: list) -> list:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(answer)})
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    wrapped = middleware(
        app,
        allow_origins=["https://shop.example"],
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["content-type", "authorization"],
        expose_headers=["retry-after", "x-request-id"],
        max_age=600,
    )
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": request}
    asyncio.run(wrapped(scope, receive, send))
    return sent


@pytest.mark.parametrize("request_headers", REQUESTS)
@pytest.mark.parametrize("answer", ANSWERS)
def test_the_same_headers_as_starlettes(request_headers: list, answer: list) -> None:
    assert answered(Cors, request_headers, answer) == answered(CORSMiddleware, request_headers, answer)
