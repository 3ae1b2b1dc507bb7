"""Money races (issue 12, item 1): a cancel and a payment sent at the same moment.

Each try sends `orderCancel` and a signed `checkout.session.completed` through the real route
at once, then reads what the database holds: exactly one of them won, no cancelled order keeps
a charge, and stock is put back only for an order that was never paid.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.accounts import staff_token
from tests.shop import (
    checkout,
    new_cart,
    order_row,
    send_event,
    serve,
    session_of,
    stock_of,
    variant_with_stock,
)
from tests.stripe_stub import StripeStub
from tests.support import MANY_OPEN_ORDERS, graphql, sql

TRIES = 40
STOCK = 1_000
QUANTITY = 2

CANCEL = """mutation($id: ID!, $t: String) {
  orderCancel(id: $id, orderToken: $t) { order { status } userErrors { code message } }
}"""


@pytest.fixture
async def racing_shop(stripe_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The Stripe-configured application (the stub), without the checkout rate limit: one
    address checks out many times on purpose."""
    async with serve(stripe_settings.model_copy(update=MANY_OPEN_ORDERS)) as running:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(base_url=running.url, timeout=60, limits=limits) as client:
            yield client


async def _race(
    client: httpx.AsyncClient, database_url: str, variant_id: str, *, staff: str | None
) -> tuple[dict[str, Any], httpx.Response, Any]:
    result = await checkout(client, await new_cart(client, variant_id, QUANTITY))
    assert result["userErrors"] == [], result
    order = await order_row(database_url, result["order"]["id"])
    if staff:
        cancelling = graphql(client, CANCEL, {"id": result["order"]["id"]}, token=staff)
    else:
        cancelling = graphql(client, CANCEL, {"id": result["order"]["id"], "t": result["orderToken"]})
    cancelled, paid = await asyncio.gather(
        cancelling, send_event(client, "checkout.session.completed", session_of(order))
    )
    return cancelled["data"]["orderCancel"], paid, order


def _refunded_intents(stub: StripeStub) -> list[str]:
    return [request.params["payment_intent"] for request in stub.refunds_created()]


async def _assert_no_kept_charge_and_stock_consistent(
    database_url: str, pk: int, order_ids: list[int], stub: StripeStub
) -> tuple[int, int]:
    rows = await sql(
        database_url,
        "SELECT id, status, stock_state, payment_intent_id, refund_id FROM orders WHERE id = ANY(:ids)",
        ids=order_ids,
    )
    assert len(rows) == len(order_ids)
    refunded = _refunded_intents(stub)
    paid = cancelled = 0
    for row in rows:
        if row.status == "PAID":
            paid += 1
            assert row.stock_state == "committed" and row.refund_id is None, row
        else:
            assert row.status == "CANCELLED", row
            cancelled += 1
            # Never CANCELLED with a kept charge: either no payment, or it was refunded.
            if row.payment_intent_id is not None:
                assert row.refund_id is not None, f"order {row.id} was cancelled and kept its charge"
                assert row.payment_intent_id in refunded
            # Never stock put back for a paid order: a customer's cancel only releases a hold.
            assert row.stock_state == "released", row
    # The stock tells the same story: sold once for each paid order, nothing held.
    assert await stock_of(database_url, pk) == (STOCK - QUANTITY * paid, 0)
    return paid, cancelled


async def test_owner_cancel_racing_a_payment_never_keeps_the_charge_or_restocks_a_paid_order(
    racing_shop: httpx.AsyncClient,
    database_url: str,
    stripe_stub: tuple[StripeStub, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, _ = stripe_stub
    variant_id, pk, _ = await variant_with_stock(database_url, STOCK)
    order_ids: list[int] = []
    with caplog.at_level(logging.ERROR):
        for _ in range(TRIES):
            answer, paid, order = await _race(racing_shop, database_url, variant_id, staff=None)
            order_ids.append(order.id)
            assert paid.status_code == 200, paid.text
            outcome = paid.json()["outcome"]
            after = await order_row(database_url, _gid(order.id))
            if answer["userErrors"]:
                # The payment won: the customer is told, and the order stays paid.
                assert answer["userErrors"][0]["code"] == "INVALID_TRANSITION"
                assert "only the shop" in answer["userErrors"][0]["message"]
                assert outcome == "paid" and after.status == "PAID"
            else:
                # The cancel won: the payment that followed was refunded at once.
                assert answer["order"]["status"] == "CANCELLED"
                assert outcome == "paid_after_close" and after.status == "CANCELLED"
                assert after.stock_state == "released"
                assert after.payment_intent_id == f"pi_test_{order.id}" and after.refund_id
    paid_count, cancelled_count = await _assert_no_kept_charge_and_stock_consistent(
        database_url, pk, order_ids, stub
    )
    assert paid_count + cancelled_count == TRIES
    # Every refund went to a cancelled order's payment, once, with the order's idempotency key.
    refunds = stub.refunds_created()
    assert len(refunds) == cancelled_count
    assert all(request.headers["idempotency-key"].startswith("refund-") for request in refunds)
    history = await sql(
        database_url,
        "SELECT count(*) AS moves FROM order_status_history"
        " WHERE order_id = ANY(:ids) AND from_status = 'PAID' AND to_status = 'CANCELLED'",
        ids=order_ids,
    )
    assert history[0].moves == 0, "a customer's cancel moved a paid order"


async def test_staff_cancel_racing_a_payment_always_refunds(
    racing_shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    variant_id, pk, _ = await variant_with_stock(database_url, STOCK)
    staff = await staff_token(racing_shop, database_url)
    order_ids: list[int] = []
    for _ in range(TRIES // 2):
        answer, paid, order = await _race(racing_shop, database_url, variant_id, staff=staff)
        order_ids.append(order.id)
        assert answer["userErrors"] == [] and answer["order"]["status"] == "CANCELLED", answer
        assert paid.status_code == 200 and paid.json()["outcome"] in ("paid", "paid_after_close")
    rows = await sql(
        database_url,
        "SELECT id, status, stock_state, payment_intent_id, refund_id FROM orders WHERE id = ANY(:ids)",
        ids=order_ids,
    )
    assert all(row.status == "CANCELLED" for row in rows)
    assert all(row.payment_intent_id and row.refund_id for row in rows), "every payment was refunded"
    refunded = _refunded_intents(stub)
    assert sorted(set(refunded)) == sorted(row.payment_intent_id for row in rows)
    # Whichever won, every unit is back on sale: released before payment, restocked after.
    assert await stock_of(database_url, pk) == (STOCK, 0)


async def test_a_late_refund_the_provider_cannot_make_now_is_retried_on_redelivery(
    racing_shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(racing_shop, await new_cart(racing_shop, variant_id))
    cancelled = await graphql(racing_shop, CANCEL, {"id": result["order"]["id"], "t": result["orderToken"]})
    assert cancelled["data"]["orderCancel"]["order"]["status"] == "CANCELLED"
    order = await order_row(database_url, result["order"]["id"])

    stub.fail_next = 10  # more than the SDK's retries: Stripe cannot be reached
    first = await send_event(
        racing_shop, "checkout.session.completed", session_of(order), event_id="evt_late_1"
    )
    assert first.status_code == 503, "Stripe must redeliver while the refund is due"
    row = await order_row(database_url, result["order"]["id"])
    assert row.status == "CANCELLED" and row.payment_intent_id and row.refund_id is None

    stub.fail_next = 0
    again = await send_event(
        racing_shop, "checkout.session.completed", session_of(order), event_id="evt_late_1"
    )
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    row = await order_row(database_url, result["order"]["id"])
    assert row.refund_id is not None
    keys = {request.headers["idempotency-key"] for request in stub.refunds_created()}
    assert keys == {f"refund-{order.public_id}"}, "every attempt carried the same idempotency key"
    made = len(stub.refunds_created())
    third = await send_event(
        racing_shop, "checkout.session.completed", session_of(order), event_id="evt_late_1"
    )
    assert third.status_code == 200 and len(stub.refunds_created()) == made, "refunded once"


def _gid(pk: int) -> str:
    import base64

    return base64.b64encode(f"Order:{pk}".encode()).decode()
