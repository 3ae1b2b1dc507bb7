"""Helpers of the browser tests: Debian's chromium under Playwright, servers whose PUBLIC_URL is their
own address (so the sandbox's links work), and screenshots a person can look at afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from playwright.async_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.pages import WEB

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
    config = uvicorn.Config(app, log_level="warning", lifespan="on", loop="none")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task
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
        await page.screenshot(path=str(path), full_page=True)
        return path
