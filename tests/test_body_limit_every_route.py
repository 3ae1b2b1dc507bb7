"""One body cap (core.http_guard) in front of every route that takes a body, not only /graphql."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from core.http_guard import MAX_BODY_BYTES

ROUTES_WITH_BODIES = ["/webhooks/stripe", "/sandbox/checkout/cs_test/pay", "/graphql"]


async def _status_and_body(url: str, request: bytes) -> tuple[int, bytes]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
        return int(lines[0].split()[1]), await reader.readexactly(length)
    finally:
        writer.close()


def _head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{extra}\r\n\r\n".encode()


@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
async def test_a_declared_body_over_the_cap_is_refused_on_every_route(
    client: httpx.AsyncClient, path: str
) -> None:
    status, body = await _status_and_body(
        str(client.base_url), _head(path, f"Content-Length: {MAX_BODY_BYTES + 1}")
    )
    assert status == 413 and b"larger than" in body


async def test_a_chunked_webhook_over_the_cap_is_refused_as_it_streams(client: httpx.AsyncClient) -> None:
    piece = b"x" * 65_536
    chunked = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") * (MAX_BODY_BYTES // len(piece) + 1)
    status, body = await _status_and_body(
        str(client.base_url), _head("/webhooks/stripe", "Transfer-Encoding: chunked") + chunked + b"0\r\n\r\n"
    )
    assert status == 413 and b"larger than" in body


async def test_a_webhook_within_the_cap_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/stripe", content=b"{" + b" " * (MAX_BODY_BYTES - 2) + b"}")
    assert response.status_code == 400 and response.json() == {"error": "invalid signature or payload"}
