"""The smaller findings of issue 12 (item 9): operationName, the catalog cache's content types,
access tokens of sessions never issued, and guest subscriptions per client address. (A webhook
timestamp beyond the tolerance in the future: test_webhook_shapes.py.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from domain.auth import issue_access_token
from graph.ids import from_global_id
from resolvers.orders.subscriptions import MAX_SUBSCRIPTIONS_PER_USER
from tests.accounts import ME, signed_up
from tests.shop import checkout, new_cart, variant_with_stock
from tests.support import RunningServer, error_codes
from tests.ws_client import TRANSPORT_WS, GraphQLWebSocket

FOLLOW = """
subscription($id: ID!, $token: String) {
  orderStatusChanged(orderId: $id, orderToken: $token) { to order { id } }
}
"""
CATALOG = "{ categories { slug name } }"


# ---------------------------------------------------------------- operationName


async def test_several_operations_need_an_operation_name(client: httpx.AsyncClient) -> None:
    document = "query First { categories { slug } } query Second { __typename }"
    body = (await client.post("/graphql", json={"query": document})).json()
    assert error_codes(body) == ["OPERATION_NAME_REQUIRED"] and body.get("data") is None
    body = (await client.post("/graphql", json={"query": document, "operationName": "Second"})).json()
    assert body == {"data": {"__typename": "Query"}}
    body = (await client.post("/graphql", json={"query": document, "operationName": "First"})).json()
    assert body["data"]["categories"]
    # One operation needs no name.
    assert (await client.post("/graphql", json={"query": "{ __typename }"})).json()["data"]


async def test_the_operation_name_is_read_from_strawberry_as_it_keeps_it() -> None:
    # graph.limits reads the operationName the client sent from a private attribute of strawberry's
    # ExecutionContext; this fails loudly when strawberry moves it.
    from strawberry.types.execution import ExecutionContext

    from graph.library_internals import provided_operation_name

    context = ExecutionContext(query="{ a }", schema=None, allowed_operations=(), provided_operation_name="X")  # type: ignore[arg-type]
    assert provided_operation_name(context) == "X"


# ---------------------------------------------------------------- the catalog cache


async def test_the_catalog_cache_applies_the_same_content_type_rules(client: httpx.AsyncClient) -> None:
    body = orjson.dumps({"query": CATALOG})

    async def post(content_type: str) -> httpx.Response:
        return await client.post("/graphql", content=body, headers={"Content-Type": content_type})

    kinds = (
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/json",
        "",
        "application/json; charset=utf-8",
    )
    before = {kind: await post(kind) for kind in kinds}  # nothing cached yet
    assert before["text/plain"].status_code == 400
    for _ in range(2):  # the second one is answered from the cache
        assert (await post("application/json")).status_code == 200
    for kind in kinds:
        after = await post(kind)
        assert (after.status_code, after.text) == (before[kind].status_code, before[kind].text), kind


# ---------------------------------------------------------------- access tokens


async def test_an_access_token_of_a_session_never_issued_is_refused(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    user = await signed_up(client)
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    assert (await client.post("/graphql", json={"query": ME}, headers=headers)).json()["data"]["me"]
    user_id = int(from_global_id(user["user"]["id"])[1])
    secret = server.app.state.jwt_secret
    # Signed with the server's key, for the right user, but for a session that was never issued.
    forged = issue_access_token(user_id, uuid.uuid4(), secret, 900)
    body = (
        await client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {forged}"})
    ).json()
    assert body["data"]["me"] is None
    # A real session of another user does not carry over either.
    other = await signed_up(client)
    other_session = uuid.UUID(
        (
            await client.post(
                "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {other['accessToken']}"}
            )
        ).json()["data"]["me"]
        and _sid(other["accessToken"])
    )
    borrowed = issue_access_token(user_id, other_session, secret, 900)
    body = (
        await client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {borrowed}"})
    ).json()
    assert body["data"]["me"] is None


def _sid(token: str) -> str:
    from jose import jwt

    return jwt.get_unverified_claims(token)["sid"]


# ---------------------------------------------------------------- guest subscriptions


async def open_from(url: str, address: str) -> GraphQLWebSocket:
    connection = await connect(
        url.replace("http://", "ws://") + "/graphql",
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        additional_headers={"X-Forwarded-For": address},
    )
    ws = GraphQLWebSocket(connection, TRANSPORT_WS)
    await ws.send({"type": "connection_init", "payload": {}})
    assert (await ws.receive())["type"] == "connection_ack"
    return ws


async def test_guest_subscriptions_are_capped_per_client_address(
    client: httpx.AsyncClient, server: RunningServer, database_url: str
) -> None:
    variant, _, _ = await variant_with_stock(database_url, 50)
    order = await checkout(client, await new_cart(client, variant))
    variables = {"id": order["order"]["id"], "token": order["orderToken"]}
    per_connection = MAX_SUBSCRIPTIONS_PER_USER // 2
    sockets = [await open_from(server.url, "198.51.100.20") for _ in range(3)]
    try:
        # Two connections from one address, opened at once, reach the cap between them.
        async def fill(ws: GraphQLWebSocket) -> list[dict[str, Any]]:
            for _ in range(per_connection):
                await ws.subscribe(FOLLOW, variables)
            return [await ws.next_payload() for _ in range(per_connection)]

        filled = await asyncio.gather(fill(sockets[0]), fill(sockets[1]))
        assert all("data" in payload for payloads in filled for payload in payloads)
        await sockets[2].subscribe(FOLLOW, variables)
        refused = await sockets[2].next_payload()
        assert error_codes(refused) == ["TOO_MANY_SUBSCRIPTIONS"], refused
        assert server.app.state.order_events.subscriptions_of_client("198.51.100.20") == 2 * per_connection
        # Another address is not affected.
        elsewhere = await open_from(server.url, "198.51.100.21")
        sockets.append(elsewhere)
        await elsewhere.subscribe(FOLLOW, variables)
        assert "data" in await elsewhere.next_payload()
    finally:
        for ws in sockets:
            await ws.close()
