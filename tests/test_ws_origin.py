"""The WebSocket origin check lets in exactly the pages CORS lets call over HTTP (CORS_ORIGINS, and the
origins of STOREFRONT_URL and PUBLIC_URL), same-origin pages and clients that send no Origin (apps),
and refuses every other page at the handshake (403). Plain handshakes, with both subprotocols."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.factory import create_app
from core.settings import Settings
from tests.support import served

CORS_ORIGIN = "https://shop.example.test"
STOREFRONT_URL = "https://store.example.test/shop/"
PUBLIC_URL = "https://api.example.test"
ALLOWED = [CORS_ORIGIN, "https://admin.example.test:8443", "https://store.example.test", PUBLIC_URL]
REFUSED = [
    "https://evil.example",
    "http://shop.example.test",  # another scheme is another origin
    "https://shop.example.test:8443",  # and so is another port
    "https://shop.example.test.evil.example",
    "https://admin.example.test",  # listed with a port
    "null",  # sandboxed frames and file: pages
]
PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[str]:
    configured = settings.model_copy(
        update={
            "cors_origins": f"{CORS_ORIGIN}, https://admin.example.test:8443",
            "storefront_url": STOREFRONT_URL,
            "public_url": PUBLIC_URL,
        }
    )
    async with served(create_app(configured)) as running:
        yield running.url


async def handshake(url: str, protocol: str, origin: str | None) -> int:
    """101 with the subprotocol and a text-framed ack to connection_init, or the refusal's status."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    try:
        async with connect(ws_url, origin=origin, subprotocols=[protocol], proxy=None) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == protocol
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            ack = await ws.recv()
            assert isinstance(ack, str) and json.loads(ack)["type"] == "connection_ack"
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def cors_allows(url: str, origin: str) -> bool:
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization",
            },
        )
    return answer.headers.get("access-control-allow-origin") == origin


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_pages_cors_allows_may_open_a_socket_and_no_others(api: str, protocol: str) -> None:
    for origin in ALLOWED:
        assert await cors_allows(api, origin), origin
        assert await handshake(api, protocol, origin) == 101, origin
    for origin in REFUSED:
        assert not await cors_allows(api, origin), origin
        assert await handshake(api, protocol, origin) == 403, origin


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_apps_without_origin_and_same_origin_pages_are_let_in(api: str, protocol: str) -> None:
    assert await handshake(api, protocol, None) == 101  # mobile apps and servers send no Origin
    assert await handshake(api, protocol, api) == 101  # a page this server served (the storefront at /)


async def test_with_nothing_configured_a_foreign_page_is_refused(settings: Settings) -> None:
    async with served(create_app(settings)) as running:
        assert await handshake(running.url, "graphql-transport-ws", CORS_ORIGIN) == 403
        assert await handshake(running.url, "graphql-transport-ws", None) == 101


def test_cors_origins_must_be_origins() -> None:
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        Settings(_env_file=None, cors_origins="shop.example.test")  # type: ignore[call-arg]
    assert Settings(_env_file=None, cors_origins="https://Shop.example.test:443/").browser_origins[0] == (  # type: ignore[call-arg]
        "https://shop.example.test"
    )
