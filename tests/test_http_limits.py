"""Limits on the HTTP connection itself (issue 12, item 6): header size and count, slow headers,
slow bodies and idle connections, over raw sockets against the real server, as in `serve`."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.factory import create_app
from core.http_protocol import GuardedHttpProtocol, HttpLimits
from core.settings import Settings
from tests.shop import WEBHOOK_SECRET
from tests.support import serve_process, served

# Generous for the deadline of a poll; the limits under test are a fraction of it.
DEADLINE = 30.0
QUICK = {"http_header_timeout": 0.5, "http_body_timeout": 0.5, "http_keep_alive_timeout": 1}

Serve = Callable[..., Any]


@pytest.fixture
async def serve_with(settings: Settings) -> AsyncIterator[Serve]:
    async with contextlib.AsyncExitStack() as servers:

        async def serve(**changes: Any) -> tuple[str, int]:
            running = await servers.enter_async_context(
                served(create_app(settings.model_copy(update=changes)))
            )
            parts = urlsplit(running.url)
            return parts.hostname or "127.0.0.1", parts.port or 80

        yield serve


async def connect(address: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*address)


async def answer_then_close(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (within the deadline)."""
    return await asyncio.wait_for(reader.read(), DEADLINE)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


async def test_a_huge_header_is_refused_before_it_is_read(serve_with: Serve) -> None:
    reader, writer = await connect(await serve_with())
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent = 0
    with pytest.raises(ConnectionError):  # the server closes while 32 MB are still to come
        while sent < 32_000_000:
            writer.write(b"a" * 65_536)
            await writer.drain()
            sent += 65_536
    assert sent < 4_000_000
    try:
        answer = await answer_then_close(reader)
    except ConnectionResetError:  # the kernel resets a connection closed with unread data in it
        return
    assert status_of(answer) == 431 and b"16384 bytes" in answer


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * 20_000 + b"\r\n",  # one header over the size, in one piece
        b"".join(b"X-H%d: 1\r\n" % i for i in range(101)),  # one header too many
    ],
)
async def test_too_large_or_too_many_headers_answer_431(serve_with: Serve, headers: bytes) -> None:
    reader, writer = await connect(await serve_with())
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    answer = await answer_then_close(reader)
    assert status_of(answer) == 431
    writer.close()


async def test_headers_at_the_limits_are_served(serve_with: Serve) -> None:
    reader, writer = await connect(await serve_with())
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(95))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
    assert status_of(await answer_then_close(reader)) == 200


class Answer(asyncio.Protocol):
    """A raw client connection that keeps what the server sent, whatever ends the connection.

    A slow client may still be writing when the server answers and closes; its next byte is
    answered by the server's kernel with a reset, and a `StreamReader` then raises that reset in
    place of the answer it already holds. Here the answer is kept, and the server's close stops
    the client's writes (`transport.is_closing()`)."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.received += data

    def eof_received(self) -> bool:
        return False  # the server closed: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    async def until_closed(self) -> bytes:
        await asyncio.wait_for(self.closed, DEADLINE)
        return bytes(self.received)


async def open_answer(address: tuple[str, int]) -> tuple[asyncio.Transport, Answer]:
    transport, answer = await asyncio.get_running_loop().create_connection(Answer, *address)
    return transport, answer


async def test_slow_headers_slow_bodies_and_silent_clients_are_closed(
    serve_with: Serve, database_url: str
) -> None:
    address = await serve_with(**QUICK)
    # Four kinds of slow client, a dozen of each, all at once.
    silent = [await open_answer(address) for _ in range(12)]
    trickling_headers = [await open_answer(address) for _ in range(12)]
    trickling_body = [await open_answer(address) for _ in range(12)]
    idle_after_answer = [await open_answer(address) for _ in range(12)]
    for transport, _ in trickling_headers:
        transport.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
    for transport, _ in trickling_body:
        transport.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"query": '
        )
    for transport, _ in idle_after_answer:
        transport.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

    async def trickle(transports: list[asyncio.Transport], piece: bytes) -> None:
        # A byte every 0.1 s (the pace of the attack, not a wait) until the server closes.
        while True:
            for transport in transports:
                if not transport.is_closing():
                    transport.write(piece)
            await asyncio.sleep(0.1)

    tricklers = [
        asyncio.create_task(trickle([t for t, _ in trickling_headers], b"X")),
        asyncio.create_task(trickle([t for t, _ in trickling_body], b" ")),
    ]
    try:
        header_answers = await asyncio.gather(*(a.until_closed() for _, a in trickling_headers))
        body_answers = await asyncio.gather(*(a.until_closed() for _, a in trickling_body))
        silent_answers = await asyncio.gather(*(a.until_closed() for _, a in silent))
        idle_answers = await asyncio.gather(*(a.until_closed() for _, a in idle_after_answer))
    finally:
        for trickler in tricklers:
            trickler.cancel()
    assert {status_of(answer) for answer in header_answers} == {408}
    assert {status_of(answer) for answer in body_answers} == {408}
    assert {status_of(answer) for answer in silent_answers} == {408}
    # A keep-alive connection is answered, then closed when it stays idle.
    assert {status_of(answer) for answer in idle_answers} == {200}
    async with httpx.AsyncClient(base_url=f"http://{address[0]}:{address[1]}") as client:
        assert (await client.get("/healthz")).status_code == 200
        body = (await client.post("/graphql", json={"query": "{ categories { name slug } }"})).json()
        assert body["data"]["categories"]


async def test_keep_alive_serves_several_requests_on_one_connection(serve_with: Serve) -> None:
    reader, writer = await connect(await serve_with(**QUICK))
    for _ in range(3):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
        assert status_of(head) == 200
        length = int(
            next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))[15:]
        )
        await reader.readexactly(length)
    writer.close()


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_MAX_HEADER_BYTES", "8192")
    monkeypatch.setenv("HTTP_BODY_TIMEOUT", "12.5")
    limits = HttpLimits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert limits == HttpLimits(max_header_bytes=8192, body_timeout=12.5)
    assert HttpLimits.from_settings(Settings.model_construct()) == HttpLimits()
    # The uvicorn internals the protocol builds on (it fails here, loudly, when they change).
    for name in ("on_url", "on_header", "on_headers_complete", "on_message_begin", "on_message_complete"):
        assert callable(getattr(GuardedHttpProtocol, name))
    assert callable(GuardedHttpProtocol.send_400_response)


async def test_serve_applies_the_same_limits(settings: Settings, database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(settings.data_dir),
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "warning",
        "HTTP_HEADER_TIMEOUT": "0.5",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    async with serve_process(env) as url:
        parts = urlsplit(url)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        reader, writer = await connect(address)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        assert status_of(await answer_then_close(reader)) == 431
        reader, _ = await connect(address)  # says nothing
        assert status_of(await answer_then_close(reader)) == 408
