"""Live order status over WebSocket, across server processes, through pg_notify."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from core.settings import Settings
from domain.orders import OrderStatus, change_status
from tests.accounts import signed_up_token, staff_token
from tests.shop import FOLLOW, MINE, checkout, guest_order, new_cart, order_row, pay, send_event, session_of
from tests.stripe_stub import WEBHOOK_SECRET
from tests.support import RunningServer, eventually, own_engine, serve_process, sql
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, GraphQLWebSocket

ROOT = Path(__file__).resolve().parent.parent


async def test_first_event_is_the_current_status_then_changes_follow(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    ws = await GraphQLWebSocket.open(server.url)
    try:
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        first = (await ws.next_payload())["data"]["orderStatusChanged"]
        assert first["from"] is None and first["to"] == "AWAITING_PAYMENT"
        assert first["order"]["id"] == order["order"]["id"]
        await pay(client, database_url, order["order"]["id"])
        paid = (await ws.next_payload())["data"]["orderStatusChanged"]
        assert (paid["from"], paid["to"], paid["order"]["status"]) == ("AWAITING_PAYMENT", "PAID", "PAID")
    finally:
        await ws.close()


async def test_legacy_graphql_ws_protocol_works_and_needs_connection_init(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    ws = await GraphQLWebSocket.open(server.url, protocol=LEGACY_WS)
    try:
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
    finally:
        await ws.close()

    # CVE-2026-35526: a `start` before `connection_init` must not run.
    early = await GraphQLWebSocket.open(server.url, protocol=LEGACY_WS, init=False)
    try:
        await early.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        answer = await answer_or_close(early)
        assert answer is None or answer["type"] not in ("data", "next"), answer
    finally:
        await early.close()


async def answer_or_close(ws: GraphQLWebSocket, seconds: float = 2) -> dict[str, Any] | None:
    """The next message, or None when the server closed the connection or said nothing."""
    try:
        return await ws.receive(timeout=seconds)
    except (ConnectionClosed, TimeoutError):
        return None


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_who_may_follow_an_order(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, protocol: str
) -> None:
    owner = await signed_up_token(client, "owner@example.com")
    other = await signed_up_token(client, "other@example.com")
    staff = await staff_token(client, database_url)
    order = await guest_order(client, database_url, token=owner)
    order_id = order["order"]["id"]

    async def first_answer(token: str | None, variables: dict[str, Any]) -> dict[str, Any]:
        ws = await GraphQLWebSocket.open(server.url, token=token, protocol=protocol)
        try:
            await ws.subscribe(FOLLOW, variables)
            return await ws.next_payload()
        finally:
            await ws.close()

    for token in (owner, staff):
        assert (await first_answer(token, {"id": order_id}))["data"]["orderStatusChanged"][
            "to"
        ] == "AWAITING_PAYMENT"
    guest = await guest_order(client, database_url)
    by_token = await first_answer(None, {"id": guest["order"]["id"], "token": guest["orderToken"]})
    assert by_token["data"]["orderStatusChanged"]["order"]["id"] == guest["order"]["id"]

    made_up = "T3JkZXI6OTk5OTk5"  # Order:999999
    refusals = [
        await first_answer(other, {"id": order_id}),
        await first_answer(None, {"id": order_id}),
        await first_answer(None, {"id": order_id, "token": guest["orderToken"]}),
        await first_answer(other, {"id": made_up}),
        await first_answer(None, {"id": made_up}),
    ]
    messages = {
        (r["errors"][0]["message"], r["errors"][0].get("extensions", {}).get("code")) for r in refusals
    }
    assert len(messages) == 1, "a real and a made-up order get the same answer"
    assert all("data" not in r or r["data"] is None for r in refusals)


async def test_my_order_updates_sees_my_orders_only(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    me = await signed_up_token(client, "me@example.com")
    other = await signed_up_token(client, "someone@example.com")
    mine_before = await guest_order(client, database_url, token=me)
    ws = await GraphQLWebSocket.open(server.url, token=me)
    try:
        await ws.subscribe(MINE)
        first = (await ws.next_payload())["data"]["myOrderUpdates"]
        assert first["order"]["id"] == mine_before["order"]["id"] and first["to"] == "AWAITING_PAYMENT"
        theirs = await guest_order(client, database_url, token=other)
        await pay(client, database_url, theirs["order"]["id"])
        mine_after = await guest_order(client, database_url, token=me)
        created = (await ws.next_payload())["data"]["myOrderUpdates"]
        assert created["order"]["id"] == mine_after["order"]["id"] and created["to"] == "AWAITING_PAYMENT"
        await pay(client, database_url, mine_before["order"]["id"])
        paid = (await ws.next_payload())["data"]["myOrderUpdates"]
        assert paid["order"]["id"] == mine_before["order"]["id"] and paid["to"] == "PAID"
        # Nothing else follows: a later order of mine is the very next event.
        marker = await guest_order(client, database_url, token=me)
        assert await ws.nothing_before(
            lambda p: p["data"]["myOrderUpdates"]["order"]["id"] == marker["order"]["id"]
        )
    finally:
        await ws.close()
    anonymous = await GraphQLWebSocket.open(server.url)
    try:
        await anonymous.subscribe(MINE)
        refused = await anonymous.next_payload()
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await anonymous.close()


async def test_a_rolled_back_change_publishes_nothing(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    row = await order_row(database_url, order["order"]["id"])
    ws = await GraphQLWebSocket.open(server.url)
    try:
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
        engine = own_engine(database_url)
        try:
            async with engine.connect() as conn:
                transaction = await conn.begin()
                change = await change_status(
                    conn, row.id, OrderStatus.CANCELLED, actor="test", reason="rolled back"
                )
                assert change.changed
                await transaction.rollback()
        finally:
            await engine.dispose()
        # The payment made after the rollback is the next event: the cancellation never came first.
        await pay(client, database_url, order["order"]["id"])
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "PAID"
    finally:
        await ws.close()


async def test_an_event_time_reads_in_utc_whatever_the_changing_session_time_zone(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    """The notification's time is written by PostgreSQL in the changing session's zone; the
    subscriber reads it in UTC, as the order's history answers it."""
    order = await guest_order(client, database_url)
    row = await order_row(database_url, order["order"]["id"])
    ws = await GraphQLWebSocket.open(server.url)
    engine = own_engine(database_url)
    try:
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
        async with engine.begin() as conn:
            await conn.exec_driver_sql("SET LOCAL TIME ZONE 'Asia/Kolkata'")
            change = await change_status(conn, row.id, OrderStatus.CANCELLED, actor="test", reason="zone")
        assert change.change is not None
        event = (await ws.next_payload())["data"]["orderStatusChanged"]
        assert event["to"] == "CANCELLED"
        assert event["at"].endswith("+00:00"), event["at"]
        assert datetime.fromisoformat(event["at"]) == change.change.at
    finally:
        await engine.dispose()
        await ws.close()


async def test_subscribers_survive_a_killed_listen_connection(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    ws = await GraphQLWebSocket.open(server.url)
    try:
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
        killed = await sql(
            database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        assert killed and all(row[0] for row in killed)
        await pay(client, database_url, order["order"]["id"])
        assert (await ws.next_payload(timeout=15))["data"]["orderStatusChanged"]["to"] == "PAID"
        hub = server.app.state.order_events
        await eventually(hub.connected.is_set, message="the hub did not listen again")
    finally:
        await ws.close()


async def test_closing_a_subscription_frees_it(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    hub = server.app.state.order_events
    ws = await GraphQLWebSocket.open(server.url)
    operation = await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
    await ws.next_payload()
    assert hub.subscriber_count == 1
    await ws.send({"type": "complete", "id": operation})
    await eventually(lambda: hub.subscriber_count == 0, message="the subscription was not released")
    await ws.close()


async def test_subscriptions_per_connection_are_capped(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    ws = await GraphQLWebSocket.open(server.url)
    try:
        for _ in range(20):
            await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
            await ws.next_payload()
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        answer = await answer_or_close(ws)
        assert answer is None or answer["type"] == "error", answer
        assert answer is not None or ws.connection.close_code is not None, "refused: error or closed"
    finally:
        await ws.close()


@pytest.fixture
async def second_process(settings: Settings, database_url: str) -> AsyncIterator[str]:
    """Another server process on the same database, as `python main.py serve` runs it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_LISTEN_URL": settings.database_listen_url or database_url,
        "DATA_DIR": str(settings.data_dir),
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "warning",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    async with serve_process(env) as url:
        yield url


async def test_a_change_made_by_another_process_reaches_subscribers(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, second_process: str
) -> None:
    # How soon it arrives is measured by `bench/subscribers.py --workers 2`, not here.
    order = await guest_order(client, database_url)
    ws = await GraphQLWebSocket.open(server.url)
    try:
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        await ws.next_payload()
        row = await order_row(database_url, order["order"]["id"])
        async with httpx.AsyncClient(base_url=second_process) as process_b:
            response = await send_event(process_b, "checkout.session.completed", session_of(row))
            assert response.status_code == 200 and response.json()["outcome"] == "paid"
        event = (await ws.next_payload())["data"]["orderStatusChanged"]
        assert event["to"] == "PAID"
    finally:
        await ws.close()


async def test_serve_with_several_workers_delivers_to_every_subscriber(pg_data_dir: Path) -> None:
    """`serve --workers 2` on the embedded database: subscribers on any worker hear a change made on any."""
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "STRIPE_SECRET_KEY"}
    }
    env.update({"DATA_DIR": str(pg_data_dir), "LOG_LEVEL": "warning", "WORKERS": "2"})
    sockets: list[GraphQLWebSocket] = []
    async with serve_process(env) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        try:
            query = "{ products(first: 1, filter: {inStock: true}) { edges { node { variants { id quantityAvailable } } } } }"
            product = (await client.post("/graphql", json={"query": query})).json()
            variants = product["data"]["products"]["edges"][0]["node"]["variants"]
            variant = next(v for v in variants if v["quantityAvailable"] > 0)
            order = await checkout(client, await new_cart(client, variant["id"]))
            variables = {"id": order["order"]["id"], "token": order["orderToken"]}
            for _ in range(8):
                ws = await GraphQLWebSocket.open(url)
                sockets.append(ws)
                await ws.subscribe(FOLLOW, variables)
                assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
            assert order["checkoutUrl"].startswith(f"{url}/sandbox/checkout/")
            assert (await client.post(order["checkoutUrl"] + "/pay")).status_code == 303
            for ws in sockets:
                assert (await ws.next_payload(timeout=3))["data"]["orderStatusChanged"]["to"] == "PAID"
        finally:
            for ws in sockets:
                await ws.close()


async def test_every_event_reads_the_order_anew(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    # One connection's context lives across events: its loaders must not answer from an old read.
    order = await guest_order(client, database_url)
    follow = (
        "subscription($id: ID!, $token: String) { orderStatusChanged(orderId: $id, orderToken: $token)"
        " { to order { status statusHistory { to } } } }"
    )
    ws = await GraphQLWebSocket.open(server.url)
    try:
        await ws.subscribe(follow, {"id": order["order"]["id"], "token": order["orderToken"]})
        first = (await ws.next_payload())["data"]["orderStatusChanged"]
        assert [change["to"] for change in first["order"]["statusHistory"]] == ["AWAITING_PAYMENT"]
        await pay(client, database_url, order["order"]["id"])
        paid = (await ws.next_payload())["data"]["orderStatusChanged"]
        assert paid["order"]["status"] == "PAID"
        assert [change["to"] for change in paid["order"]["statusHistory"]] == ["AWAITING_PAYMENT", "PAID"]
    finally:
        await ws.close()
