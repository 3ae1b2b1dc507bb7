"""Shared events sent once built (graph/websocket.py's `SharedEventSender`, issue 18 point 5): once
strawberry's own path has sent one subscriber an event as a message that is only `data`, the other
subscribers sharing that event's execution are sent the same message from their own operation's
task, without graphql-core's and strawberry's per-result work.

What must hold, over both subscription protocols and real WebSockets: every client receives exactly
the bytes strawberry's path sends (its own operation id and message type around the same data);
the operation's other messages keep their order (an error and `complete` after a revocation,
nothing after a client's `complete`/`stop`); readers who do not share an execution (another reader,
another query) are never sent someone else's data."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from strawberry.extensions import SchemaExtension

from domain.orders import OrderStatus, change_status
from graph.errors import MaskUnexpectedErrors
from graph.websocket import SharedEventSender
from resolvers.schema import schema
from tests.accounts import LOGOUT, signed_up, staff_token
from tests.shop import FOLLOW, guest_order, order_row, pay
from tests.support import RunningServer, graphql, own_engine
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, GraphQLWebSocket

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]


@pytest.fixture
def sent_once_built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The `data` of every event sent through the shared-event sender (not strawberry's path)."""
    sent: list[Any] = []
    original = SharedEventSender.send

    async def send(self: SharedEventSender, data: Any) -> bool:
        sent.append(data)
        return await original(self, data)

    monkeypatch.setattr(SharedEventSender, "send", send)
    return sent


async def raw_result(ws: GraphQLWebSocket, timeout: float = 5) -> str:
    """The next result message's frame, as the server wrote it."""
    while True:
        frame = await asyncio.wait_for(ws.connection.recv(), timeout)
        assert isinstance(frame, str), f"a binary frame: {frame!r}"
        message = orjson.loads(frame)
        if message["type"] in ("next", "data", "error", "complete"):
            return frame


def strawberrys_frame(operation_id: str, protocol: str, data: Any) -> str:
    """The message strawberry's handlers send for a result that is only `data` (graph.websocket's
    `message_text`: compact JSON, `id` and `type` first)."""
    kind = "next" if protocol == TRANSPORT_WS else "data"
    return orjson.dumps({"id": operation_id, "type": kind, "payload": {"data": data}}).decode()


async def test_every_subscriber_sharing_an_event_receives_exactly_strawberrys_message(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, sent_once_built: list[Any]
) -> None:
    order = await guest_order(client, database_url)
    variables = {"id": order["order"]["id"], "token": order["orderToken"]}
    staff = await staff_token(client, database_url)
    guests = [
        *[await GraphQLWebSocket.open(server.url) for _ in range(3)],
        *[await GraphQLWebSocket.open(server.url, protocol=LEGACY_WS) for _ in range(3)],
    ]
    as_staff = await GraphQLWebSocket.open(server.url, token=staff, protocol=LEGACY_WS)
    other_query = await GraphQLWebSocket.open(server.url)
    sockets = [*guests, as_staff, other_query]
    engine = own_engine(database_url)
    try:
        ids = {}
        for ws in [*guests, as_staff]:
            ids[ws] = await ws.subscribe(FOLLOW, variables)
        ids[other_query] = await other_query.subscribe(FOLLOW.replace("number ", ""), variables)
        for ws in sockets:
            assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"

        row = await order_row(database_url, order["order"]["id"])
        for to in ("PAID", "PROCESSING"):
            sent_once_built.clear()
            if to == "PAID":
                await pay(client, database_url, order["order"]["id"])
            else:
                async with engine.begin() as conn:
                    await change_status(conn, row.id, OrderStatus.PROCESSING, actor="test", reason="packing")
            frames = await asyncio.gather(*(raw_result(ws) for ws in sockets))
            received = {
                ws: orjson.loads(frame)["payload"]["data"] for ws, frame in zip(sockets, frames, strict=True)
            }
            # Each frame is strawberry's message for that client, whichever path sent it.
            for ws, frame in zip(sockets, frames, strict=True):
                assert frame == strawberrys_frame(ids[ws], ws.protocol, received[ws])
            event = received[guests[0]]["orderStatusChanged"]
            assert event["to"] == to and event["order"]["status"] == to
            assert all(received[ws] == received[guests[0]] for ws in [*guests, as_staff])
            assert "number" not in received[other_query]["orderStatusChanged"]["order"]
            # Of the six guests sharing one execution, the first was sent it by strawberry and the
            # five others once built: the very object the first one was sent.
            assert len(sent_once_built) == len(guests) - 1
            assert all(data == received[guests[0]] for data in sent_once_built)
            assert all(data is sent_once_built[0] for data in sent_once_built)
    finally:
        await engine.dispose()
        for ws in sockets:
            await ws.close()


async def _subscribed_then_paid(
    client: httpx.AsyncClient,
    database_url: str,
    order_id: str,
    sockets: list[GraphQLWebSocket],
    variables: dict[str, Any],
    sent_once_built: list[Any],
) -> list[str]:
    """Every socket follows the order and sees it AWAITING_PAYMENT, then PAID: the first through
    strawberry, the others sent once built. The operations' ids."""
    ids = []
    for ws in sockets:
        ids.append(await ws.subscribe(FOLLOW, variables))
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
    await pay(client, database_url, order_id)
    for ws in sockets:
        assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "PAID"
    assert len(sent_once_built) == len(sockets) - 1
    return ids


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_after_events_sent_once_built_a_revocation_still_ends_with_an_error_then_complete(
    client: httpx.AsyncClient,
    server: RunningServer,
    database_url: str,
    protocol: str,
    sent_once_built: list[Any],
) -> None:
    customer = await signed_up(client)
    order = await guest_order(client, database_url, token=customer["accessToken"])
    order_id = order["order"]["id"]
    sockets = [
        await GraphQLWebSocket.open(server.url, token=customer["accessToken"], protocol=protocol)
        for _ in range(3)
    ]
    engine = own_engine(database_url)
    try:
        await _subscribed_then_paid(
            client, database_url, order_id, sockets, {"id": order_id}, sent_once_built
        )

        answer = await graphql(client, LOGOUT, {"refreshToken": customer["refreshToken"]})
        assert answer["data"]["logout"]["ok"] is True
        for ws in sockets:
            ended = await ws.next_payload()
            assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
            assert (await ws.receive())["type"] == "complete"

        row = await order_row(database_url, order_id)
        async with engine.begin() as conn:
            await change_status(conn, row.id, OrderStatus.PROCESSING, actor="test", reason="packing")
        # Nothing reaches a connection after its operation's `complete`: a new operation answers first.
        for ws in sockets:
            marker = await ws.subscribe(FOLLOW, {"id": order_id, "token": order["orderToken"]})
            assert await ws.nothing_before(marker)
        assert len(sent_once_built) == len(sockets) - 1
    finally:
        await engine.dispose()
        for ws in sockets:
            await ws.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_operation_the_client_completed_is_sent_nothing_more(
    client: httpx.AsyncClient,
    server: RunningServer,
    database_url: str,
    protocol: str,
    sent_once_built: list[Any],
) -> None:
    order = await guest_order(client, database_url)
    variables = {"id": order["order"]["id"], "token": order["orderToken"]}
    sockets = [await GraphQLWebSocket.open(server.url, protocol=protocol) for _ in range(3)]
    engine = own_engine(database_url)
    try:
        ids = await _subscribed_then_paid(
            client, database_url, order["order"]["id"], sockets, variables, sent_once_built
        )

        quitter = sockets[-1]
        await quitter.send({"type": "complete" if protocol == TRANSPORT_WS else "stop", "id": ids[-1]})
        if protocol == LEGACY_WS:  # the legacy protocol answers `stop` with `complete`
            assert await raw_result(quitter) == orjson.dumps({"type": "complete", "id": ids[-1]}).decode()
        row = await order_row(database_url, order["order"]["id"])
        async with engine.begin() as conn:
            await change_status(conn, row.id, OrderStatus.PROCESSING, actor="test", reason="packing")
        for ws in sockets[:-1]:
            assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "PROCESSING"
        marker = await quitter.subscribe(FOLLOW, variables)
        assert await quitter.nothing_before(marker)
    finally:
        await engine.dispose()
        for ws in sockets:
            await ws.close()


def test_the_schemas_extensions_do_nothing_per_event_to_a_result_that_is_only_data() -> None:
    """Events sent once built skip the extensions' per-result work: that must change no message.
    None of the schema's extensions adds results, and the one per-result hook only masks errors (a
    result with errors is never sent once built). An extension added later with per-result work
    must be weighed against that path (graph.websocket) before this list is changed."""
    extensions = schema.get_extensions()
    assert extensions
    for extension in extensions:
        assert type(extension).get_results is SchemaExtension.get_results, extension
    per_result = [
        type(e) for e in extensions if type(e).on_stream_result is not SchemaExtension.on_stream_result
    ]
    assert per_result == [MaskUnexpectedErrors]
