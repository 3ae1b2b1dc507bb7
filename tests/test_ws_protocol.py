"""GraphQL over WebSocket, at the edges of both protocols, with our own low-level client.

Our client (tests/ws_client.py) asserts that every message arrives in a text frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.settings import Settings
from tests.accounts import LOGOUT, email_key, login, refresh, signed_up
from tests.shop import FOLLOW, MINE, guest_order, order_row, pay, serve
from tests.support import RunningServer, eventually, graphql, sql
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, GraphQLWebSocket

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]


def ws_url(server: RunningServer) -> str:
    return server.url.replace("http://", "ws://") + "/graphql"


@pytest.mark.parametrize("offered", [[], ["graphql-sse"], ["chat", "superchat"]])
async def test_a_handshake_without_a_supported_subprotocol_is_refused(
    server: RunningServer, offered: list[Any]
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(server), subprotocols=offered or None):
            pass
    response = refused.value.response
    assert response.status_code == 400
    assert b"graphql-transport-ws" in response.body


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_supported_subprotocol_is_chosen_from_what_the_client_offers(
    server: RunningServer, protocol: str
) -> None:
    async with connect(ws_url(server), subprotocols=["chat", protocol]) as connection:  # type: ignore[list-item]
        assert connection.subprotocol == protocol


@pytest.fixture
async def quick_init_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The application with a short wait for connection_init."""
    async with serve(settings.model_copy(update={"ws_init_timeout": 0.3})) as running:
        yield running


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_connection_never_initialised_is_closed_after_the_same_timeout(
    quick_init_server: RunningServer, protocol: str
) -> None:
    ws = await GraphQLWebSocket.open(quick_init_server.url, protocol=protocol, init=False)
    try:
        with pytest.raises(ConnectionClosed):
            await ws.receive(timeout=10)
        assert ws.connection.close_code == 4408
    finally:
        await ws.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_initialised_connection_stays_open_past_the_timeout(
    quick_init_server: RunningServer, client: httpx.AsyncClient, database_url: str, protocol: str
) -> None:
    ws = await GraphQLWebSocket.open(quick_init_server.url, protocol=protocol)
    # A connection opened later and never initialised is closed once its timeout is over:
    # by then the timeout is over for `ws` too, and `ws` has heard nothing (its next message is
    # the answer to the subscription below).
    late = await GraphQLWebSocket.open(quick_init_server.url, protocol=protocol, init=False)
    try:
        with pytest.raises(ConnectionClosed):
            await late.receive(timeout=10)
        assert late.connection.close_code == 4408
        order = await guest_order(client, database_url)
        await ws.subscribe(FOLLOW, {"id": order["order"]["id"], "token": order["orderToken"]})
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
    finally:
        await late.close()
        await ws.close()


# ---------------------------------------------------------------- a login revoked mid-subscription


async def ended_by_sign_out(ws: GraphQLWebSocket) -> None:
    """The operation gets an UNAUTHENTICATED error, then `complete`."""
    ended = await ws.next_payload()
    assert ended.get("data") is None, ended
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
    assert (await ws.receive())["type"] == "complete"


async def revoked_families(database_url: str, user_email: str) -> set[str]:
    rows = await sql(
        database_url,
        "SELECT DISTINCT t.family_id::text FROM refresh_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE u.email_index = :key AND t.revoked_at IS NOT NULL",
        key=email_key(user_email),
    )
    return {row[0] for row in rows}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_signing_out_ends_the_subscriptions_of_that_login_only(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, protocol: str
) -> None:
    phone = await signed_up(client)
    email = phone["user"]["email"]
    laptop = await login(client, email)
    order = await guest_order(client, database_url, token=phone["accessToken"])
    order_id = order["order"]["id"]

    signed_out = await GraphQLWebSocket.open(server.url, token=phone["accessToken"], protocol=protocol)
    still_in = await GraphQLWebSocket.open(server.url, token=laptop["accessToken"], protocol=protocol)
    guest = await GraphQLWebSocket.open(server.url, protocol=protocol)
    try:
        await signed_out.subscribe(MINE)
        await signed_out.subscribe(FOLLOW, {"id": order_id})
        await still_in.subscribe(MINE)
        await guest.subscribe(FOLLOW, {"id": order_id, "token": order["orderToken"]})
        for ws in (signed_out, signed_out, still_in, guest):
            assert (await ws.next_payload())["data"] is not None

        answer = await graphql(client, LOGOUT, {"refreshToken": phone["refreshToken"]})
        assert answer["data"]["logout"]["ok"] is True

        await ended_by_sign_out(signed_out)
        await ended_by_sign_out(signed_out)
        await pay(client, database_url, order_id)
        assert (await still_in.next_payload())["data"]["myOrderUpdates"]["to"] == "PAID"
        assert (await guest.next_payload())["data"]["orderStatusChanged"]["to"] == "PAID"
        # The others have heard the payment; an operation started now on the signed-out
        # connection answers before anything else reaches it.
        marker = await signed_out.subscribe(FOLLOW, {"id": order_id, "token": order["orderToken"]})
        assert await signed_out.nothing_before(marker)
    finally:
        for ws in (signed_out, still_in, guest):
            await ws.close()
    assert (await order_row(database_url, order_id)).status == "PAID"
    assert len(await revoked_families(database_url, email)) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_reused_refresh_token_ends_the_subscriptions_of_its_login(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, protocol: str
) -> None:
    first = await signed_up(client)
    rotated = await refresh(client, first["refreshToken"])
    assert rotated["userErrors"] == []
    order = await guest_order(client, database_url, token=rotated["accessToken"])
    ws = await GraphQLWebSocket.open(server.url, token=rotated["accessToken"], protocol=protocol)
    by_token = {"id": order["order"]["id"], "token": order["orderToken"]}
    witness = await GraphQLWebSocket.open(server.url, protocol=protocol)
    try:
        await ws.subscribe(MINE)
        assert (await ws.next_payload())["data"]["myOrderUpdates"]["to"] == "AWAITING_PAYMENT"
        await witness.subscribe(FOLLOW, by_token)
        assert (await witness.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
        stolen = await refresh(client, first["refreshToken"])  # shown a second time: the chain is revoked
        assert stolen["userErrors"][0]["code"] == "INVALID_TOKEN"
        await ended_by_sign_out(ws)
        await pay(client, database_url, order["order"]["id"])
        # Once another subscriber has heard the payment, a marker operation answers first on `ws`.
        assert (await witness.next_payload())["data"]["orderStatusChanged"]["to"] == "PAID"
        assert await ws.nothing_before(await ws.subscribe(FOLLOW, by_token))
    finally:
        await witness.close()
        await ws.close()
    assert len(await revoked_families(database_url, first["user"]["email"])) == 1


async def test_a_revocation_missed_while_listen_was_down_is_caught_up(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    """The revocation's notification is lost; on reconnecting, the subscription asks the database."""
    me = await signed_up(client)
    await guest_order(client, database_url, token=me["accessToken"])
    ws = await GraphQLWebSocket.open(server.url, token=me["accessToken"])
    try:
        await ws.subscribe(MINE)
        await ws.next_payload()
        # Revoked behind the hub's back (no pg_notify), then the LISTEN connection drops.
        await sql(
            database_url,
            "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ("
            " SELECT id FROM users WHERE email_index = :key)",
            key=email_key(me["user"]["email"]),
        )
        killed = await sql(
            database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        assert killed and all(row[0] for row in killed)
        ended = await ws.next_payload(timeout=20)
        assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
        assert (await ws.receive())["type"] == "complete"
    finally:
        await ws.close()


async def test_a_login_revoked_before_subscribing_is_refused(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    me = await signed_up(client)
    await graphql(client, LOGOUT, {"refreshToken": me["refreshToken"]})
    ws = await GraphQLWebSocket.open(server.url, token=me["accessToken"])
    try:
        await ws.subscribe(MINE)
        refused = await ws.next_payload()
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        hub = server.app.state.order_events
        await eventually(lambda: hub.subscriber_count == 0, message="the refused subscription was kept")
    finally:
        await ws.close()
