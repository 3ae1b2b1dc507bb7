"""Fan-out (issue 18, point 5; graph/shared_events.py): subscribers that would get the same answer
to an event share one execution of it, and only those.

Work is counted, not timed: the statements that read the order's history for one event.
"""

from __future__ import annotations

import asyncio

import httpx

from domain.orders import OrderStatus, change_status
from tests.accounts import staff_token
from tests.shop import FOLLOW, guest_order, order_row, pay
from tests.support import RunningServer, StatementCounter, eventually, own_engine, sql
from tests.ws_client import GraphQLWebSocket

FOLLOW_HISTORY = (
    "subscription($id: ID!, $token: String) { orderStatusChanged(orderId: $id, orderToken: $token)"
    " { to order { status statusHistory { to } } } }"
)
FOLLOW_LINES = (
    "subscription($id: ID!, $token: String) { orderStatusChanged(orderId: $id, orderToken: $token)"
    " { to order { statusHistory { to } lines { quantity } } } }"
)


def _history_reads(statements: StatementCounter) -> int:
    return sum(
        "order_status_history" in s and s.lstrip().upper().startswith("SELECT") for s in statements.statements
    )


async def test_subscribers_with_the_same_query_and_reader_share_one_execution_of_an_event(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, sql_statements: StatementCounter
) -> None:
    order = await guest_order(client, database_url)
    variables = {"id": order["order"]["id"], "token": order["orderToken"]}
    staff = await staff_token(client, database_url)
    guests = [await GraphQLWebSocket.open(server.url) for _ in range(4)]
    other_query = await GraphQLWebSocket.open(server.url)
    as_staff = await GraphQLWebSocket.open(server.url, token=staff)
    sockets = [*guests, other_query, as_staff]
    try:
        for ws in [*guests, as_staff]:
            await ws.subscribe(FOLLOW_HISTORY, variables)
        await other_query.subscribe(FOLLOW_LINES, variables)
        for ws in sockets:
            assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"

        sql_statements.reset()
        await pay(client, database_url, order["order"]["id"])
        payloads = await asyncio.gather(*(ws.next_payload() for ws in sockets))
        for payload in payloads:
            event = payload["data"]["orderStatusChanged"]
            assert event["to"] == "PAID"
            assert [change["to"] for change in event["order"]["statusHistory"]] == [
                "AWAITING_PAYMENT",
                "PAID",
            ]
        assert payloads[4]["data"]["orderStatusChanged"]["order"]["lines"][0]["quantity"] >= 1
        # One execution for the four guests, one for the other query, one for the staff reader.
        assert _history_reads(sql_statements) == 3, sql_statements.statements
    finally:
        for ws in sockets:
            await ws.close()


def _catch_up_reads(statements: StatementCounter) -> int:
    """Reads of an order's changes after a given one (domain.order_reads.changes_after)."""
    return sum("order_status_history.id >" in s for s in statements.statements)


async def _kill_listen(database_url: str) -> None:
    killed = await sql(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    assert killed and all(row[0] for row in killed)


async def test_subscribers_of_one_order_share_one_catch_up_read(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, sql_statements: StatementCounter
) -> None:
    """After LISTEN is restored every subscriber catches up from the database: one read for the
    order, not one per subscriber; each still gets every change once and in order."""
    order = await guest_order(client, database_url)
    variables = {"id": order["order"]["id"], "token": order["orderToken"]}
    hub = server.app.state.order_events
    sockets = [await GraphQLWebSocket.open(server.url) for _ in range(5)]
    try:
        for ws in sockets:
            await ws.subscribe(FOLLOW, variables)
            assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"
        restored = hub.restored
        sql_statements.reset()
        # The payment lands while LISTEN is down or just after: by the catch-up read or by notification.
        await _kill_listen(database_url)
        await pay(client, database_url, order["order"]["id"])
        await eventually(lambda: hub.restored == restored + 1, message="LISTEN was not restored")
        for ws in sockets:
            assert (await ws.next_payload(timeout=15))["data"]["orderStatusChanged"]["to"] == "PAID"
        # A later change is the next event everywhere: PAID came once.
        row = await order_row(database_url, order["order"]["id"])
        engine = own_engine(database_url)
        try:
            async with engine.begin() as conn:
                await change_status(conn, row.id, OrderStatus.PROCESSING, actor="test")
        finally:
            await engine.dispose()
        for ws in sockets:
            assert await ws.nothing_before(
                lambda payload: payload["data"]["orderStatusChanged"]["to"] == "PROCESSING"
            )
        assert _catch_up_reads(sql_statements) == 1, sql_statements.statements
    finally:
        for ws in sockets:
            await ws.close()


def test_the_executor_hook_the_sharing_relies_on_is_still_there() -> None:
    """graph.shared_events overrides graphql-core's per-event `execute_operation(serially)`, which
    runs with the event as `root_value` (a copy made by `build_per_event_executor`)."""
    import inspect

    from graph.library_internals import ExecutionContextBase
    from graph.shared_events import SharedEventsExecutionContext

    assert list(inspect.signature(ExecutionContextBase.execute_operation).parameters) == ["self", "serially"]
    assert list(inspect.signature(ExecutionContextBase.build_per_event_executor).parameters) == [
        "self",
        "payload",
    ]
    assert issubclass(SharedEventsExecutionContext, ExecutionContextBase)


def test_a_shared_event_is_serialised_once_and_each_message_stays_exact() -> None:
    """graph.websocket: subscribers handed the same `data` object (one shared execution) get one
    serialisation of it; each message is still exactly the JSON of what it says."""
    import orjson

    from graph.websocket import message_text, serialised_data

    data = {"orderStatusChanged": {"to": "PAID", "order": {"id": 'T3JkZXI6MQ=="', "note": "é\u2028"}}}
    messages = [
        {"id": "1", "type": "next", "payload": {"data": data}},
        {"id": 'a"b', "type": "next", "payload": {"data": data}},
        {"id": "1", "type": "data", "payload": {"data": data}},
        {"id": "1", "type": "next", "payload": {"data": data, "errors": [{"message": "x"}]}},
        {"id": "1", "type": "complete"},
        {"type": "connection_ack"},
    ]
    for message in messages:
        assert orjson.loads(message_text(message)) == message
    assert serialised_data(data) is serialised_data(data)
    assert serialised_data(dict(data)) is not serialised_data(data)
