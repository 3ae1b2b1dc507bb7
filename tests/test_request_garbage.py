"""A finished request leaves no reference cycle behind: what it made is freed as it ends.

A request kept alive by a cycle waits for the garbage collector, and with it everything it
reached; under load the oldest generation then filled with hundreds of finished requests, and
the collection that freed them paused every request in flight for tens of milliseconds
(graph/execution.py, `helpers_holding_weakly`; graph/errors.py, `_answered`). Checked with the
collector off while the requests run, then one collection that keeps what it finds
(gc.DEBUG_SAVEALL).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import httpx
import pytest
from graphql import GraphQLError
from starlette.requests import Request
from strawberry.types import ExecutionResult

from graph.context import Context
from graph.errors import Forbidden, MaskUnexpectedErrors
from graph.library_internals import ExecutionContextBase
from tests.shop import checkout, new_cart, paid_order, variant_with_stock
from tests.support import graphql

# Of a request: its executor, its GraphQL context and its HTTP request (everything else it made
# hangs off these).
REQUEST_TYPES = (ExecutionContextBase, Context, Request)


@pytest.fixture
def leftovers() -> Iterator[Callable[[], list[str]]]:
    """Collects with the collector off from here; calling it returns the types of the request
    objects that only the collector could free."""

    def found() -> list[str]:
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            return [type(thing).__qualname__ for thing in gc.garbage if isinstance(thing, REQUEST_TYPES)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    gc.collect()
    gc.disable()
    try:
        yield found
    finally:
        gc.enable()


async def test_finished_requests_leave_nothing_to_collect(
    client: httpx.AsyncClient, database_url: str, leftovers: Callable[[], list[str]]
) -> None:
    await paid_order(client, database_url)  # cart, checkout, the payment webhook
    sold_out, _, _ = await variant_with_stock(database_url, 1, offset=1)
    cart = await new_cart(client, sold_out)
    await variant_with_stock(database_url, 0, offset=1)
    assert (await checkout(client, cart))["userErrors"][0]["code"] == "OUT_OF_STOCK"
    slug = (await graphql(client, "{ products(first: 1) { edges { node { slug } } } }"))["data"]
    page = await graphql(
        client,
        "query($slug: String!) { product(slug: $slug) { name variants { sku quantityAvailable } } }",
        {"slug": slug["products"]["edges"][0]["node"]["slug"]},
    )
    assert page["data"]["product"]["name"], page
    assert (await graphql(client, "{ me { email } }")).get("data") is not None  # null for a guest
    assert (await graphql(client, "{ orders(first: 1) { edges { node { id } } } }"))["errors"]  # staff only
    assert (await graphql(client, "{ nosuchfield }"))["errors"]  # a validation error
    # Each of these requests is freed as it ends: there is nothing of them for the collector.
    left = leftovers()
    assert left == [], repr(left)


def test_a_subscription_events_client_error_is_sent_without_its_frames() -> None:
    """A subscription's events leave through the extension's per-result hook, not through the
    operation's: a client's error there loses the frames it was raised through as well."""
    original = Forbidden()
    try:
        raise original
    except Forbidden as raised:
        error = GraphQLError(raised.message, original_error=raised)
        error.__traceback__ = raised.__traceback__
    assert original.__traceback__ is not None
    event = ExecutionResult(data=None, errors=[error])
    hook = MaskUnexpectedErrors().on_stream_result(event)
    next(hook)  # up to the event's sending: the masking is done
    hook.close()
    (sent,) = event.errors or []
    assert sent.message == "You are not allowed to do this." and sent.original_error is original
    assert sent.__traceback__ is None and original.__traceback__ is None
