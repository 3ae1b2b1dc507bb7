"""What the serialise-once path of subscription events relies on (graph/websocket.py remembers the
JSON of the last `data` objects by their identity): subscribers that share an event's execution
(graph/shared_events.py) are handed the very same `data` object, and nothing changes that object
once it is handed out. Each client receives exactly that data, over both subscription protocols,
and a later event is a new object with its own answer (never the text remembered for the last one).

The result each subscriber is handed is seen through a spy on the shared executor's hook
(`SharedEventsExecutionContext.execute_operation`, which returns an event's result): it records
the result's `data` and changes nothing. What clients receive is read over real WebSockets."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

import httpx
import orjson
import pytest

from domain.orders import OrderStatus, change_status
from graph.shared_events import SharedEventsExecutionContext
from tests.accounts import staff_token
from tests.shop import guest_order, order_row, pay
from tests.support import RunningServer, own_engine
from tests.ws_client import GraphQLWebSocket

FOLLOW = (
    "subscription($id: ID!, $token: String) { orderStatusChanged(orderId: $id, orderToken: $token)"
    " { to order { status statusHistory { to reason } } } }"
)


class HandedOut:
    """Every `data` object the shared executor hands to a subscriber, by share key, with its JSON
    as it was when it was handed out."""

    def __init__(self) -> None:
        self.by_key: dict[Hashable, list[tuple[Any, bytes]]] = defaultdict(list)

    def record(self, key: Hashable, result: Any) -> Any:
        data = result.data  # the hook returns the event's ExecutionResult; clients get its `data`
        self.by_key[key].append((data, orjson.dumps(data)))
        return result

    def spy(self, original: Any) -> Any:
        def execute_operation(context: Any, serially: bool | None = None) -> Any:
            key = getattr(context.root_value, "share", None)
            result = original(context, serially)
            if key is None:
                return result
            if not context.is_awaitable(result):
                return self.record(key, result)

            async def recorded() -> Any:
                return self.record(key, await result)

            return recorded()

        return execute_operation

    def of(self, to: str) -> list[list[tuple[Any, bytes]]]:
        """What was handed out for the event that moved the order to `to`, one list per share key."""
        return [handed for handed in self.by_key.values() if handed[0][0]["orderStatusChanged"]["to"] == to]


@pytest.fixture
def handed_out(monkeypatch: pytest.MonkeyPatch) -> HandedOut:
    handed = HandedOut()
    original = SharedEventsExecutionContext.execute_operation
    monkeypatch.setattr(SharedEventsExecutionContext, "execute_operation", handed.spy(original))
    return handed


async def test_subscribers_sharing_an_event_get_one_data_object_that_stays_as_it_was_sent(
    client: httpx.AsyncClient, server: RunningServer, database_url: str, handed_out: HandedOut
) -> None:
    order = await guest_order(client, database_url)
    variables = {"id": order["order"]["id"], "token": order["orderToken"]}
    staff = await staff_token(client, database_url)
    # Four guests share each event (two per protocol); the staff reader has an execution of its own.
    guests = [
        *[await GraphQLWebSocket.open(server.url) for _ in range(2)],
        *[await GraphQLWebSocket.open(server.url, protocol="graphql-ws") for _ in range(2)],
    ]
    as_staff = await GraphQLWebSocket.open(server.url, token=staff)
    sockets = [*guests, as_staff]
    engine = own_engine(database_url)
    try:
        for ws in sockets:
            await ws.subscribe(FOLLOW, variables)
            assert (await ws.next_payload())["data"]["orderStatusChanged"]["to"] == "AWAITING_PAYMENT"

        await pay(client, database_url, order["order"]["id"])
        paid = [(await ws.next_payload())["data"] for ws in sockets]
        row = await order_row(database_url, order["order"]["id"])
        async with engine.begin() as conn:
            await change_status(conn, row.id, OrderStatus.PROCESSING, actor="test", reason="packing")
        processing = await asyncio.gather(*(ws.next_payload() for ws in sockets))
        events = {"PAID": paid, "PROCESSING": [payload["data"] for payload in processing]}

        seen: list[Any] = []
        for to, received in events.items():
            shared, own = sorted(handed_out.of(to), key=len, reverse=True)
            assert (len(shared), len(own)) == (len(guests), 1)
            data, sent = shared[0]
            # The guests were handed one and the same object ...
            assert all(handed is data for handed, _ in shared)
            # ... not changed by being sent to any of them: its JSON now is its JSON when handed out,
            assert all(text == sent for _, text in shared) and orjson.dumps(data) == sent
            # ... which is what every client received, the staff reader's own execution alike.
            assert all(payload == orjson.loads(sent) for payload in received)
            assert orjson.dumps(own[0][0]) == sent
            seen.append(data)

        # The next event is another object with its own answer, not the text kept for the last one.
        assert seen[0] is not seen[1]
        history = events["PROCESSING"][0]["orderStatusChanged"]["order"]["statusHistory"]
        assert [change["to"] for change in history] == ["AWAITING_PAYMENT", "PAID", "PROCESSING"]
        assert history[-1]["reason"] == "packing"
    finally:
        await engine.dispose()
        for ws in sockets:
            await ws.close()


def test_the_per_event_copy_of_the_executor_is_what_copy_makes_by_default() -> None:
    """`SharedEventsExecutionContext.__copy__` (graphql-core copies the executor for every event)
    holds the same attributes as Python's default copy, in an object of its own."""
    import copy

    from graphql import build_schema, parse

    schema = build_schema("type Query { a: String } type Subscription { greeting: String }")
    executor = SharedEventsExecutionContext.build(schema, parse("subscription { greeting }"))
    assert not isinstance(executor, list)
    clone = copy.copy(executor)
    default = copy._reconstruct(executor, None, *executor.__reduce_ex__(4))  # type: ignore[attr-defined]
    assert type(clone) is SharedEventsExecutionContext
    assert clone is not executor and clone.__dict__ is not executor.__dict__
    assert clone.__dict__ == default.__dict__ == executor.__dict__
    event = executor.build_per_event_executor({"greeting": "Hello"})
    assert event.root_value == {"greeting": "Hello"} and executor.root_value is None
    assert event.collected_errors is not executor.collected_errors
    assert event.execute_operation(False).data == {"greeting": "Hello"}
