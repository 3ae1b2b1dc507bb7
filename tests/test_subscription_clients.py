"""Live order status with clients we did not write: Python `gql` (its websockets transport, on
both subprotocols) and the JavaScript `graphql-ws` reference client, run by Node.

Each follows an order as a storefront or a mobile app would: a guest with the order token, a
signed-in customer with the access token in connection_init.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.accounts import LOGOUT, signed_up
from tests.js_client import NodeSubscription
from tests.shop import FOLLOW, MINE, guest_order, order_row, pay
from tests.support import RunningServer, graphql
from tests.ws_client import LEGACY_WS, TRANSPORT_WS

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]


def gql_client(server: RunningServer, protocol: str, token: str | None = None) -> Client:
    transport = WebsocketsTransport(
        url=server.url.replace("http://", "ws://") + "/graphql",
        subprotocols=[protocol],
        init_payload={"authorization": f"Bearer {token}"} if token else {},
    )
    return Client(transport=transport)


async def next_result(results: AsyncGenerator[dict[str, Any], None], timeout: float = 10) -> dict[str, Any]:
    return await asyncio.wait_for(anext(results), timeout)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_gql_guest_watches_the_order_turn_paid(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, protocol: str
) -> None:
    order = await guest_order(client, database_url)
    order_id = order["order"]["id"]
    request = GraphQLRequest(FOLLOW, variable_values={"id": order_id, "token": order["orderToken"]})
    async with gql_client(server, protocol) as session:
        assert session.transport.subprotocol == protocol  # type: ignore[attr-defined]
        results = session.subscribe(request)
        try:
            first = (await next_result(results))["orderStatusChanged"]
            assert (first["from"], first["to"], first["order"]["id"]) == (None, "AWAITING_PAYMENT", order_id)
            await pay(client, database_url, order_id)
            paid = (await next_result(results))["orderStatusChanged"]
            assert (paid["from"], paid["to"], paid["order"]["status"]) == ("AWAITING_PAYMENT", "PAID", "PAID")
        finally:
            await results.aclose()
    assert (await order_row(database_url, order_id)).status == "PAID"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_gql_customer_follows_their_orders_until_signed_out(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, protocol: str
) -> None:
    me = await signed_up(client)
    order = await guest_order(client, database_url, token=me["accessToken"])
    order_id = order["order"]["id"]
    async with gql_client(server, protocol, token=me["accessToken"]) as session:
        results = session.subscribe(GraphQLRequest(MINE))
        try:
            first = (await next_result(results))["myOrderUpdates"]
            assert (first["order"]["id"], first["to"]) == (order_id, "AWAITING_PAYMENT")
            await pay(client, database_url, order_id)
            paid = (await next_result(results))["myOrderUpdates"]
            assert (paid["order"]["id"], paid["to"], paid["order"]["status"]) == (order_id, "PAID", "PAID")

            await graphql(client, LOGOUT, {"refreshToken": me["refreshToken"]})
            with pytest.raises(TransportQueryError) as ended:
                await next_result(results)
            assert ended.value.errors is not None
            assert ended.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
        finally:
            await results.aclose()
    assert (await order_row(database_url, order_id)).status == "PAID"


async def test_graphql_ws_reference_client_guest_watches_the_order_turn_paid(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    order = await guest_order(client, database_url)
    order_id = order["order"]["id"]
    follower = await NodeSubscription.start(
        server.url, FOLLOW, {"id": order_id, "token": order["orderToken"]}, events=2
    )
    try:
        first = await follower.next_result()
        assert first["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
        await pay(client, database_url, order_id)
        paid = await follower.next_result()
        assert paid == {
            "data": {
                "orderStatusChanged": {
                    "from": "AWAITING_PAYMENT",
                    "to": "PAID",
                    "at": paid["data"]["orderStatusChanged"]["at"],
                    "order": {"id": order_id, "number": order["order"]["number"], "status": "PAID"},
                }
            }
        }
        assert await follower.finish() == 0
    finally:
        await follower.stop()
    assert not any("error" in line for line in follower.lines), follower.lines
    assert (await order_row(database_url, order_id)).status == "PAID"


async def test_graphql_ws_reference_client_customer_with_authorization_in_connection_init(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    me = await signed_up(client)
    order = await guest_order(client, database_url, token=me["accessToken"])
    order_id = order["order"]["id"]
    follower = await NodeSubscription.start(
        server.url, MINE, connection_params={"authorization": f"Bearer {me['accessToken']}"}, events=10
    )
    try:
        first = await follower.next_result()
        assert first["data"]["myOrderUpdates"]["order"]["id"] == order_id
        await pay(client, database_url, order_id)
        paid = await follower.next_result()
        assert paid["data"]["myOrderUpdates"] == {
            "from": "AWAITING_PAYMENT",
            "to": "PAID",
            "order": {"id": order_id, "status": "PAID"},
        }
        # Signing out ends the subscription: an UNAUTHENTICATED result, then complete.
        await graphql(client, LOGOUT, {"refreshToken": me["refreshToken"]})
        ended = await follower.next_result()
        assert ended["data"] is None and ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await follower.next_line() == {"complete": True}
        assert await follower.finish() == 0
    finally:
        await follower.stop()
    assert (await order_row(database_url, order_id)).status == "PAID"


async def test_graphql_ws_reference_client_without_a_token_is_refused(
    server: RunningServer,
) -> None:
    follower = await NodeSubscription.start(server.url, MINE)
    try:
        refused = await follower.next_line()
        # graphql-transport-ws reports errors before execution as an `error` message.
        errors = refused.get("error") or refused.get("next", {}).get("errors")
        assert errors and errors[0]["extensions"]["code"] == "UNAUTHENTICATED", refused
    finally:
        await follower.stop()
