"""A rolling restart: one of two server processes is stopped with SIGTERM and started again
under a bounded loopback load. No request fails beyond retryable connection errors, the process
exits within its bound, its WebSockets close with 1001, and a subscriber that reconnects to the
other process catches up (its first event is the order's latest status)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import ConnectionClosed

from core.settings import Settings
from core.shutdown import WRITTEN_FOR
from tests.shop import FOLLOW, guest_order, pay
from tests.stripe_stub import WEBHOOK_SECRET
from tests.support import eventually, launch_serve_process
from tests.ws_client import GraphQLWebSocket

LOAD_SECONDS = 12  # the whole load, bounded in time
CLIENTS = 4
SHUTDOWN_BOUND = (
    45  # SHUTDOWN_TIMEOUT (5 here) plus the application's own shutdown, with margin for a busy CI
)
QUERY = {"query": "query Browse { products(first: 5) { edges { node { name } } } }"}
RETRYABLE = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass
class Tally:
    ok: int = 0
    retried: int = 0
    failed: int = 0


async def load(urls: list[str], stop: asyncio.Event, tally: Tally) -> None:
    """One client: random process of those up, a request at a time; a connection error is retried."""
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        while not stop.is_set():
            url = random.choice(urls)
            if url not in clients:
                clients[url] = httpx.AsyncClient(base_url=url, timeout=30)
            client = clients[url]
            try:
                response = await client.post("/graphql", json=QUERY)
            except RETRYABLE:
                tally.retried += 1
                await asyncio.sleep(0.05)
                continue
            if response.status_code == 200 and "errors" not in response.json():
                tally.ok += 1
            else:
                tally.failed += 1
    finally:
        for client in clients.values():
            await client.aclose()


def test_the_websocket_shutdown_is_written_for_this_uvicorn() -> None:
    assert uvicorn.__version__ == WRITTEN_FOR["uvicorn"]
    assert callable(WebSocketsSansIOProtocol.shutdown)


async def test_a_rolling_restart_loses_no_request_and_no_event(settings: Settings, database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_LISTEN_URL": settings.database_listen_url or database_url,
        "DATA_DIR": str(settings.data_dir),
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "warning",
        "RUN_WORKER": "off",
        "SHUTDOWN_TIMEOUT": "5",
        "CATALOG_CACHE_SIZE": "0",  # every request reaches the database
    }
    env.pop("STRIPE_SECRET_KEY", None)
    (first, first_url), (second, second_url) = await asyncio.gather(
        launch_serve_process(env, timeout=180), launch_serve_process(env, timeout=180)
    )
    processes = [first, second]
    stop, tally = asyncio.Event(), Tally()
    clients: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(base_url=second_url, timeout=30) as shop:
            order = await guest_order(shop, database_url)
            variables = {"id": order["order"]["id"], "token": order["orderToken"]}
            subscriber = await GraphQLWebSocket.open(first_url)
            await subscriber.subscribe(FOLLOW, variables)
            assert (await subscriber.next_payload(30))["data"]["orderStatusChanged"][
                "to"
            ] == "AWAITING_PAYMENT"

            urls = [first_url, second_url]
            clients += [asyncio.create_task(load(urls, stop, tally)) for _ in range(CLIENTS)]
            await eventually(lambda: tally.ok >= 2 * CLIENTS, timeout=60, message="the load runs")

            stopping = time.monotonic()
            first.send_signal(signal.SIGTERM)
            # The subscriber is told the server is going away...
            with pytest.raises(ConnectionClosed):
                while True:
                    await subscriber.receive(timeout=SHUTDOWN_BOUND)
            assert subscriber.connection.close_code == 1001
            # ...and the order is paid while it reconnects elsewhere.
            await pay(shop, database_url, order["order"]["id"])
            again = await GraphQLWebSocket.open(second_url)
            await again.subscribe(FOLLOW, variables)
            assert (await again.next_payload(30))["data"]["orderStatusChanged"]["to"] == "PAID"
            await again.close()

            await asyncio.to_thread(first.wait, SHUTDOWN_BOUND)
            assert first.returncode is not None and time.monotonic() - stopping < SHUTDOWN_BOUND
            urls.remove(first_url)
            restarted, restarted_url = await launch_serve_process(env, timeout=180)
            processes.append(restarted)
            urls.append(restarted_url)
            served_before = tally.ok
            await asyncio.sleep(max(1.0, LOAD_SECONDS - (time.monotonic() - stopping)))
            stop.set()
            await asyncio.gather(*clients)
        assert tally.failed == 0, tally
        assert tally.ok > served_before > 0, tally
    finally:
        stop.set()  # the load stops whatever happened
        await asyncio.gather(*clients, return_exceptions=True)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 60)
            except subprocess.TimeoutExpired:
                process.kill()
