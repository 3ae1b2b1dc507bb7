"""Helpers of the browser tests: Debian's chromium under Playwright, servers whose PUBLIC_URL is their
own address (so the sandbox's links work), and screenshots a person can look at afterwards."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.pages import WEB
from tests.support import served

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def listening_socket() -> tuple[socket.socket, str]:
    """A bound loopback socket and its URL, known before the app that will serve on it is made."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.asynccontextmanager
async def serving(app: Starlette, sock: socket.socket) -> AsyncIterator[None]:
    """`app` served on the bound socket `sock` for the block (tests.support.served), which is closed after it."""
    try:
        async with served(app, sock=sock):
            yield
    finally:
        sock.close()


def foreign_storefront(api_url: str) -> Starlette:
    """The storefront's files as another site would host them: a copy pointed at the API."""
    index = (WEB / "storefront" / "index.html").read_text()
    pointed = index.replace('content="/graphql"', f'content="{api_url}/graphql"')
    assert pointed != index

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(pointed)

    return Starlette(
        routes=[
            Route("/", page),
            Mount("/storefront", StaticFiles(directory=WEB / "storefront")),
        ]
    )


class Shots:
    """Numbered screenshots of one test under .artifacts/browser/<test>/."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    async def take(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        # Transitions run to their end first: a dialog fading in is shown as it will be.
        await page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path
