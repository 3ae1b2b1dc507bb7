"""Checkout, Stripe (the real SDK against a stub on loopback), webhooks, orders and inventory."""

from __future__ import annotations

import asyncio
import logging
import time
from fractions import Fraction
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.accounts import signed_up_token, staff_token
from tests.shop import (
    ADDRESS,
    CHECKOUT,
    ORDER,
    VARIANT,
    WEBHOOK_SECRET,
    checkout,
    new_cart,
    order_row,
    paid_order,
    send_event,
    serve,
    session_of,
    stock_of,
    variant_with_stock,
)
from tests.stripe_stub import StripeStub, event, stripe_signature
from tests.support import eventually, graphql, sql

# ---------------------------------------------------------------- checkout


async def test_checkout_reserves_stock_creates_the_order_and_opens_a_stripe_session(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    variant_id, pk, price = await variant_with_stock(database_url, 5)
    cart_token = await new_cart(shop, variant_id, 2)
    before = time.time()
    result = await checkout(shop, cart_token)

    assert result["userErrors"] == []
    order = result["order"]
    assert order["status"] == "AWAITING_PAYMENT"
    # Shipping to the UK and its 20 % VAT come on top of the lines (issue 15, tests/test_totals.py).
    shipping = 1290
    tax = round(Fraction(2 * price, 5)) + round(Fraction(shipping, 5))
    assert (
        order["total"] == {"amount": 2 * price + shipping + tax, "currency": "usd"}
        and order["subtotal"]["amount"] == 2 * price
    )
    assert order["lines"][0]["quantity"] == 2 and order["lines"][0]["lineTotal"]["amount"] == 2 * price
    assert order["shippingAddress"]["country"] == "GB"
    assert order["statusHistory"] == [{"from": None, "to": "AWAITING_PAYMENT", "reason": "checkout created"}]
    assert result["checkoutUrl"].startswith("https://checkout.stripe.test/")
    assert result["orderToken"]
    assert await stock_of(database_url, pk) == (5, 2)
    available = await graphql(shop, VARIANT, {"id": variant_id})
    assert available["data"]["node"]["quantityAvailable"] == 3

    (created,) = stub.sessions_created()
    params = created.params
    row = await order_row(database_url, order["id"])
    assert params["mode"] == "payment"
    assert params["line_items[0][price_data][unit_amount]"] == str(price)
    assert params["line_items[0][price_data][currency]"] == "usd"
    assert params["line_items[0][quantity]"] == "2"
    assert params["customer_email"] == "ada@example.com"
    assert params["client_reference_id"] == str(row.id) == params["metadata[order_id]"]
    assert params["success_url"].startswith("https://shop.example.test/")
    assert params["cancel_url"].startswith("https://shop.example.test/")
    assert abs(int(params["expires_at"]) - (before + 1800)) < 30
    assert created.headers["idempotency-key"] == f"checkout-session-{row.public_id}"
    assert row.payment_session_id == "cs_test_stub1"

    # The cart is closed: adding to it again starts from nothing.
    cart = await graphql(shop, "query($t: String) { cart(token: $t) { lines { id } } }", {"t": cart_token})
    assert cart["data"]["cart"] is None or cart["data"]["cart"]["lines"] == []


async def test_a_retried_stripe_call_carries_the_same_idempotency_key(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    stub.fail_next = 1
    variant_id, _, _ = await variant_with_stock(database_url, 5)
    result = await checkout(shop, await new_cart(shop, variant_id))
    assert result["userErrors"] == []
    first, second = stub.sessions_created()
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


async def test_a_double_click_makes_one_order(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    variant_id, pk, _ = await variant_with_stock(database_url, 5)
    cart_token = await new_cart(shop, variant_id, 1)
    results = await asyncio.gather(*(checkout(shop, cart_token) for _ in range(3)))
    ids = {result["order"]["id"] for result in results}
    assert len(ids) == 1 and all(result["checkoutUrl"] == results[0]["checkoutUrl"] for result in results)
    assert len({r.headers["idempotency-key"] for r in stub.sessions_created()}) == 1
    assert await stock_of(database_url, pk) == (5, 1)
    (count,) = await sql(database_url, "SELECT count(*) FROM orders")
    assert count[0] == 1


async def test_a_checkout_whose_session_was_not_recorded_opens_it_with_the_order_lines_read_back(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    """The order committed but its payment session was never recorded (the process stopped in
    between): checking the cart out again opens the session with the order's lines read back."""
    stub, _ = stripe_stub
    variant_id, pk, _ = await variant_with_stock(database_url, 5)
    cart_token = await new_cart(shop, variant_id, 2)
    first = await checkout(shop, cart_token)
    await sql(
        database_url,
        "UPDATE orders SET payment_session_id = NULL, payment_url = NULL WHERE number = :n",
        n=first["order"]["number"],
    )
    again = await checkout(shop, cart_token)
    assert again["userErrors"] == [] and again["order"]["id"] == first["order"]["id"]
    assert again["checkoutUrl"]
    opened, reopened = stub.sessions_created()

    def lines(params: dict[str, str]) -> dict[str, str]:
        return {key: value for key, value in params.items() if key.startswith("line_items[")}

    assert lines(reopened.params) == lines(opened.params)
    assert lines(opened.params)["line_items[0][quantity]"] == "2"
    assert await stock_of(database_url, pk) == (5, 2)  # reserved once


async def test_unreachable_stripe_releases_the_reservation_and_keeps_the_cart(
    stripe_settings: Settings, database_url: str
) -> None:
    unreachable = stripe_settings.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})
    async with serve(unreachable) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            variant_id, pk, _ = await variant_with_stock(database_url, 5)
            cart_token = await new_cart(client, variant_id, 2)
            result = await checkout(client, cart_token)
            assert result["order"] is None and result["checkoutUrl"] is None
            assert [error["code"] for error in result["userErrors"]] == ["PAYMENT_PROVIDER_UNAVAILABLE"]
            assert await stock_of(database_url, pk) == (5, 0)
            rows = await sql(database_url, "SELECT status FROM orders")
            assert [row.status for row in rows] == ["CANCELLED"]
            cart = await graphql(
                client, "query($t: String) { cart(token: $t) { totalQuantity } }", {"t": cart_token}
            )
            assert cart["data"]["cart"]["totalQuantity"] == 2


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"email": "not-an-email"}, "INVALID_EMAIL", ["email"]),
        ({"email": None}, "INVALID_EMAIL", ["email"]),
        ({"address": {**ADDRESS, "country": "XX"}}, "INVALID_ADDRESS", ["shippingAddress", "country"]),
        ({"address": {**ADDRESS, "line1": "   "}}, "INVALID_ADDRESS", ["shippingAddress", "line1"]),
        ({"successUrl": "https://evil.example/steal"}, "INVALID_URL", ["successUrl"]),
        ({"cartToken": "no-such-cart"}, "CART_NOT_FOUND", ["cartToken"]),
    ],
)
async def test_checkout_validation_changes_nothing(
    shop: httpx.AsyncClient, database_url: str, variables: dict[str, Any], code: str, field: list[str]
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 5)
    cart_token = await new_cart(shop, variant_id)
    merged = {"cartToken": cart_token, "email": "ada@example.com", "address": ADDRESS, **variables}
    body = await graphql(shop, CHECKOUT, merged)
    payload = body["data"]["checkoutCreate"]
    assert payload["order"] is None
    assert [(error["code"], error["field"]) for error in payload["userErrors"]] == [(code, field)]
    assert await stock_of(database_url, pk) == (5, 0)
    assert (await sql(database_url, "SELECT count(*) FROM orders"))[0][0] == 0


async def test_fifty_concurrent_checkouts_of_ten_units_sell_exactly_ten(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    carts = [await new_cart(shop, variant_id, 1) for _ in range(50)]
    results = await asyncio.gather(*(checkout(shop, cart) for cart in carts))
    orders = [result for result in results if result["order"]]
    refused = [result for result in results if result["userErrors"]]
    assert len(orders) == 10 and len(refused) == 40
    assert all([error["code"] for error in result["userErrors"]] == ["OUT_OF_STOCK"] for result in refused)
    assert await stock_of(database_url, pk) == (10, 10)

    for result in orders:
        row = await order_row(database_url, result["order"]["id"])
        assert (await send_event(shop, "checkout.session.completed", session_of(row))).status_code == 200
    assert await stock_of(database_url, pk) == (0, 0)
    available = await graphql(shop, VARIANT, {"id": variant_id})
    assert available["data"]["node"]["quantityAvailable"] == 0


# ---------------------------------------------------------------- webhooks


async def test_completed_event_marks_the_order_paid_and_sells_the_stock(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    result, order, pk = await paid_order(shop, database_url, quantity=3)
    assert (
        order.status == "PAID"
        and order.paid_at is not None
        and order.payment_intent_id == f"pi_test_{order.id}"
    )
    assert order.stock_state == "committed"
    assert await stock_of(database_url, pk) == (7, 0)
    read = await graphql(shop, ORDER, {"id": result["order"]["id"], "token": result["orderToken"]})
    history = read["data"]["order"]["statusHistory"]
    assert [(change["from"], change["to"]) for change in history] == [
        (None, "AWAITING_PAYMENT"),
        ("AWAITING_PAYMENT", "PAID"),
    ]
    assert read["data"]["order"]["paidAt"]


async def test_a_redelivered_event_changes_nothing(shop: httpx.AsyncClient, database_url: str) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    result = await checkout(shop, await new_cart(shop, variant_id, 2))
    order = await order_row(database_url, result["order"]["id"])
    responses = await asyncio.gather(
        *(
            send_event(shop, "checkout.session.completed", session_of(order), event_id="evt_same")
            for _ in range(5)
        )
    )
    assert [response.status_code for response in responses] == [200] * 5
    assert sorted(response.json()["outcome"] for response in responses) == ["duplicate"] * 4 + ["paid"]
    assert await stock_of(database_url, pk) == (8, 0)
    history = await sql(
        database_url, "SELECT to_status FROM order_status_history WHERE order_id = :id", id=order.id
    )
    assert [row.to_status for row in history] == ["AWAITING_PAYMENT", "PAID"]


@pytest.mark.parametrize("problem", ["missing", "wrong-secret", "stale", "tampered", "garbage"])
async def test_bad_signatures_get_400_and_change_nothing(
    shop: httpx.AsyncClient, database_url: str, problem: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(shop, await new_cart(shop, variant_id))
    order = await order_row(database_url, result["order"]["id"])
    payload = event("checkout.session.completed", session_of(order))
    headers = {"Content-Type": "application/json"}
    if problem == "wrong-secret":
        headers["Stripe-Signature"] = stripe_signature(payload, "whsec_someone_else")
    elif problem == "stale":
        headers["Stripe-Signature"] = stripe_signature(payload, WEBHOOK_SECRET, int(time.time()) - 301)
    elif problem == "tampered":
        headers["Stripe-Signature"] = stripe_signature(payload, WEBHOOK_SECRET)
        payload = payload.replace('"amount_total":', '"amount_total":1')
    elif problem == "garbage":
        headers["Stripe-Signature"] = "t=abc,v1=zzz"
    response = await shop.post("/webhooks/stripe", content=payload, headers=headers)
    assert response.status_code == 400
    assert (await order_row(database_url, result["order"]["id"])).status == "AWAITING_PAYMENT"
    assert (await sql(database_url, "SELECT count(*) FROM processed_payment_events"))[0][0] == 0


async def test_unknown_event_types_answer_200(shop: httpx.AsyncClient) -> None:
    response = await send_event(shop, "customer.created", {"id": "cus_1", "object": "customer"})
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"


async def test_amount_mismatch_is_not_marked_paid_and_is_logged(
    shop: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    result = await checkout(shop, await new_cart(shop, variant_id))
    order = await order_row(database_url, result["order"]["id"])
    with caplog.at_level(logging.ERROR):
        wrong_amount = await send_event(shop, "checkout.session.completed", session_of(order, amount_total=1))
        wrong_currency = await send_event(
            shop, "checkout.session.completed", session_of(order, currency="eur")
        )
    assert wrong_amount.json()["outcome"] == wrong_currency.json()["outcome"] == "amount_mismatch"
    assert (await order_row(database_url, result["order"]["id"])).status == "AWAITING_PAYMENT"
    assert f"payment for order {order.number} does not match" in caplog.text
    assert await stock_of(database_url, pk) == (10, 1)


async def test_events_out_of_order_never_move_an_order_backwards(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    _, order, pk = await paid_order(shop, database_url)
    for late in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        response = await send_event(shop, late, session_of(order, payment_status="unpaid"))
        assert response.status_code == 200 and response.json()["outcome"] == "already_applied"
    again = await send_event(shop, "checkout.session.async_payment_succeeded", session_of(order))
    assert again.json()["outcome"] == "already_applied"
    current = await order_row(database_url, _gid(order.id))
    assert current.status == "PAID"
    assert await stock_of(database_url, pk) == (9, 0)


def _gid(pk: int) -> str:
    import base64

    return base64.b64encode(f"Order:{pk}".encode()).decode()


async def test_payment_after_expiry_is_not_applied_and_is_logged(
    shop: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    result = await checkout(shop, await new_cart(shop, variant_id))
    order = await order_row(database_url, result["order"]["id"])
    expired = await send_event(shop, "checkout.session.expired", session_of(order, payment_status="unpaid"))
    assert expired.json()["outcome"] == "cancelled"
    assert await stock_of(database_url, pk) == (10, 0)
    with caplog.at_level(logging.ERROR):
        late = await send_event(shop, "checkout.session.completed", session_of(order))
    assert late.json()["outcome"] == "paid_after_close"
    assert "refund it" in caplog.text
    row = await order_row(database_url, result["order"]["id"])
    assert row.status == "CANCELLED"
    history = await sql(
        database_url, "SELECT reason FROM order_status_history WHERE order_id = :id", id=order.id
    )
    # The late payment was refunded at once, and the order's history says so (issue 16).
    assert [h.reason for h in history] == [
        "checkout created",
        "payment window expired",
        "late payment refunded",
    ]


async def test_completed_unpaid_waits_then_async_outcomes_apply(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    first = await checkout(shop, await new_cart(shop, variant_id))
    order = await order_row(database_url, first["order"]["id"])
    waiting = await send_event(shop, "checkout.session.completed", session_of(order, payment_status="unpaid"))
    assert waiting.json()["outcome"] == "awaiting_payment"
    assert (await order_row(database_url, first["order"]["id"])).status == "AWAITING_PAYMENT"
    failed = await send_event(
        shop, "checkout.session.async_payment_failed", session_of(order, payment_status="unpaid")
    )
    assert failed.json()["outcome"] == "failed"
    assert (await order_row(database_url, first["order"]["id"])).status == "FAILED"
    assert await stock_of(database_url, pk) == (10, 0)

    second = await checkout(shop, await new_cart(shop, variant_id, 2))
    order = await order_row(database_url, second["order"]["id"])
    await send_event(shop, "checkout.session.completed", session_of(order, payment_status="unpaid"))
    succeeded = await send_event(shop, "checkout.session.async_payment_succeeded", session_of(order))
    assert succeeded.json()["outcome"] == "paid"
    assert await stock_of(database_url, pk) == (8, 0)


async def test_payment_intent_failure_is_recorded_but_the_order_keeps_waiting(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(shop, await new_cart(shop, variant_id))
    order = await order_row(database_url, result["order"]["id"])
    response = await send_event(
        shop,
        "payment_intent.payment_failed",
        {"id": "pi_x", "object": "payment_intent", "metadata": {"order_id": str(order.id)}},
    )
    assert response.json()["outcome"] == "attempt_failed_recorded"
    assert (await order_row(database_url, result["order"]["id"])).status == "AWAITING_PAYMENT"
    (recorded,) = await sql(database_url, "SELECT type, order_id FROM processed_payment_events")
    assert recorded.type == "payment_intent.payment_failed" and recorded.order_id == order.id


async def test_webhook_answers_5xx_when_the_database_is_unreachable(stripe_settings: Settings) -> None:
    broken = stripe_settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    async with serve(broken) as running:
        async with httpx.AsyncClient(base_url=running.url) as client:
            response = await send_event(
                client, "checkout.session.completed", {"id": "cs_1", "metadata": {"order_id": "1"}}
            )
            assert response.status_code == 503
            assert "127.0.0.1" not in response.text


# ---------------------------------------------------------------- expiry


async def test_the_server_cancels_expired_reservations_once(
    stripe_settings: Settings, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    async with serve(stripe_settings.model_copy(update={"reservation_ttl": 1})) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            variant_id, pk, _ = await variant_with_stock(database_url, 10)
            result = await checkout(client, await new_cart(client, variant_id, 4))
            assert await stock_of(database_url, pk) == (10, 4)

            async def cancelled() -> bool:
                return (await order_row(database_url, result["order"]["id"])).status == "CANCELLED"

            await eventually(cancelled, timeout=15, interval=0.1, message="the reservation was not released")
            assert await stock_of(database_url, pk) == (10, 0)
            order = await order_row(database_url, result["order"]["id"])
            stripe_expired = await send_event(
                client, "checkout.session.expired", session_of(order, payment_status="unpaid")
            )
            assert stripe_expired.json()["outcome"] == "already_applied"
            assert await stock_of(database_url, pk) == (10, 0)
            history = await sql(
                database_url, "SELECT reason FROM order_status_history WHERE order_id = :id", id=order.id
            )
            assert [row.reason for row in history] == ["checkout created", "payment window expired"]
            assert any(
                request.path.endswith(f"{order.payment_session_id}/expire") for request in stub.requests
            )


# ---------------------------------------------------------------- staff and owners


async def test_refund_by_api_then_event_ends_refunded_once(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    result, order, pk = await paid_order(shop, database_url, quantity=2)
    staff = await staff_token(shop, database_url)
    refund = """mutation($id: ID!) { orderRefund(id: $id, reason: "damaged") { order { status } userErrors { code } } }"""
    body = await graphql(shop, refund, {"id": result["order"]["id"]}, token=staff)
    assert body["data"]["orderRefund"] == {"order": {"status": "REFUNDED"}, "userErrors": []}
    (created,) = stub.refunds_created()
    assert created.params["payment_intent"] == order.payment_intent_id
    assert created.headers["idempotency-key"] == f"refund-{order.public_id}"
    event_answer = await send_event(
        shop,
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": order.payment_intent_id,
            "amount": order.total,
            "amount_refunded": order.total,
            "refunded": True,
        },
    )
    assert event_answer.json()["outcome"] == "already_applied"
    again = await graphql(shop, refund, {"id": result["order"]["id"]}, token=staff)
    assert again["data"]["orderRefund"]["order"]["status"] == "REFUNDED"
    history = await sql(
        database_url, "SELECT to_status FROM order_status_history WHERE order_id = :id", id=order.id
    )
    assert [row.to_status for row in history].count("REFUNDED") == 1
    assert await stock_of(database_url, pk) == (10, 0), "a refund before shipping puts the stock back"


async def test_refund_event_first_then_api(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    result, order, _ = await paid_order(shop, database_url)
    partial = await send_event(
        shop,
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": order.payment_intent_id,
            "amount": order.total,
            "amount_refunded": 1,
            "refunded": False,
        },
    )
    assert partial.json()["outcome"] == "partial_refund_recorded"
    full = await send_event(
        shop,
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": order.payment_intent_id,
            "amount": order.total,
            "amount_refunded": order.total,
            "refunded": True,
        },
    )
    assert full.json()["outcome"] == "refunded"
    staff = await staff_token(shop, database_url)
    body = await graphql(
        shop,
        "mutation($id: ID!) { orderRefund(id: $id) { order { status } userErrors { code } } }",
        {"id": result["order"]["id"]},
        token=staff,
    )
    assert body["data"]["orderRefund"] == {"order": {"status": "REFUNDED"}, "userErrors": []}
    assert stub.refunds_created() == []
    history = await sql(
        database_url, "SELECT to_status FROM order_status_history WHERE order_id = :id", id=order.id
    )
    assert [row.to_status for row in history].count("REFUNDED") == 1


UPDATE_STATUS = """
mutation($id: ID!, $status: OrderStatus!, $tracking: String) {
  orderUpdateStatus(id: $id, status: $status, trackingNumber: $tracking) {
    order { status trackingNumber } userErrors { field code }
  }
}
"""


async def test_staff_move_orders_through_fulfilment_and_invalid_transitions_are_refused(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    staff = await staff_token(shop, database_url)
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    unpaid = await checkout(shop, await new_cart(shop, variant_id))
    refused = await graphql(
        shop, UPDATE_STATUS, {"id": unpaid["order"]["id"], "status": "SHIPPED", "tracking": "1Z"}, token=staff
    )
    assert refused["data"]["orderUpdateStatus"]["userErrors"][0]["code"] == "INVALID_TRANSITION"

    result, _, _ = await paid_order(shop, database_url)
    order_id = result["order"]["id"]

    async def move(status: str, tracking: str | None = None) -> dict[str, Any]:
        body = await graphql(
            shop, UPDATE_STATUS, {"id": order_id, "status": status, "tracking": tracking}, token=staff
        )
        return body["data"]["orderUpdateStatus"]

    assert (await move("SHIPPED", "1Z999"))["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await move("PROCESSING"))["order"]["status"] == "PROCESSING"
    missing = await move("SHIPPED")
    assert missing["userErrors"] == [{"field": ["trackingNumber"], "code": "TRACKING_NUMBER_REQUIRED"}]
    assert (await move("SHIPPED", "1Z999"))["order"] == {"status": "SHIPPED", "trackingNumber": "1Z999"}
    assert (await move("PAID"))["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await move("PROCESSING"))["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await move("DELIVERED"))["order"]["status"] == "DELIVERED"
    assert (await move("COMPLETED"))["order"]["status"] == "COMPLETED"
    cancel = await graphql(
        shop,
        "mutation($id: ID!) { orderCancel(id: $id) { order { status } userErrors { code } } }",
        {"id": order_id},
        token=staff,
    )
    assert cancel["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_non_staff_get_forbidden_and_anonymous_get_unauthenticated(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    result, _, _ = await paid_order(shop, database_url)
    shopper = await signed_up_token(shop, "shopper@example.com")
    for mutation in (
        "orderRefund(id: $id) { userErrors { code } }",
        "orderUpdateStatus(id: $id, status: PROCESSING) { userErrors { code } }",
    ):
        query = f"mutation($id: ID!) {{ {mutation} }}"
        as_shopper = await graphql(shop, query, {"id": result["order"]["id"]}, token=shopper)
        assert as_shopper["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        anonymous = await graphql(shop, query, {"id": result["order"]["id"]})
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await order_row(database_url, result["order"]["id"])).status == "PAID"


async def test_orders_are_visible_to_their_owner_staff_and_token_holder_only(
    shop: httpx.AsyncClient, database_url: str
) -> None:
    owner = await signed_up_token(shop, "owner@example.com")
    other = await signed_up_token(shop, "other@example.com")
    staff = await staff_token(shop, database_url)
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    mine = await checkout(shop, await new_cart(shop, variant_id, 1, token=owner), token=owner, email=None)
    assert mine["order"]["email"] == "owner@example.com"
    guest = await checkout(shop, await new_cart(shop, variant_id))
    order_id = mine["order"]["id"]

    assert (await graphql(shop, ORDER, {"id": order_id}, token=owner))["data"]["order"]["id"] == order_id
    assert (await graphql(shop, ORDER, {"id": order_id}, token=staff))["data"]["order"]["id"] == order_id
    assert (await graphql(shop, ORDER, {"id": order_id}, token=other))["data"]["order"] is None
    assert (await graphql(shop, ORDER, {"id": order_id}))["data"]["order"] is None
    guest_id = guest["order"]["id"]
    assert (await graphql(shop, ORDER, {"id": guest_id, "token": guest["orderToken"]}))["data"]["order"][
        "id"
    ] == guest_id
    assert (await graphql(shop, ORDER, {"id": guest_id, "token": mine["orderToken"]}))["data"][
        "order"
    ] is None
    assert (await graphql(shop, ORDER, {"id": guest_id, "token": "forged"}))["data"]["order"] is None

    listing = await graphql(shop, "{ orders(first: 10) { totalCount edges { node { id } } } }", token=owner)
    assert listing["data"]["orders"]["totalCount"] == 1
    assert listing["data"]["orders"]["edges"][0]["node"]["id"] == order_id
    others = await graphql(shop, "{ orders(first: 10) { totalCount } }", token=other)
    assert others["data"]["orders"]["totalCount"] == 0
    anonymous = await graphql(shop, "{ orders(first: 10) { totalCount } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    cancel = "mutation($id: ID!, $t: String) { orderCancel(id: $id, orderToken: $t) { order { status } userErrors { code } } }"
    foreign = await graphql(shop, cancel, {"id": order_id}, token=other)
    assert foreign["data"]["orderCancel"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await graphql(shop, cancel, {"id": order_id}))["errors"][0]["extensions"][
        "code"
    ] == "UNAUTHENTICATED"
    own = await graphql(shop, cancel, {"id": order_id}, token=owner)
    assert own["data"]["orderCancel"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
    by_token = await graphql(shop, cancel, {"id": guest_id, "t": guest["orderToken"]})
    assert by_token["data"]["orderCancel"]["order"]["status"] == "CANCELLED"


async def test_owner_cannot_cancel_after_payment_but_staff_can_with_a_refund(
    shop: httpx.AsyncClient, database_url: str, stripe_stub: tuple[StripeStub, str]
) -> None:
    stub, _ = stripe_stub
    result, _, pk = await paid_order(shop, database_url, quantity=2)
    cancel = "mutation($id: ID!, $t: String) { orderCancel(id: $id, orderToken: $t) { order { status } userErrors { code } } }"
    by_guest = await graphql(shop, cancel, {"id": result["order"]["id"], "t": result["orderToken"]})
    assert by_guest["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    staff = await staff_token(shop, database_url)
    by_staff = await graphql(shop, cancel, {"id": result["order"]["id"]}, token=staff)
    assert by_staff["data"]["orderCancel"]["order"]["status"] == "CANCELLED"
    assert len(stub.refunds_created()) == 1
    assert await stock_of(database_url, pk) == (10, 0)


# ---------------------------------------------------------------- sandbox


async def test_sandbox_flow_end_to_end(
    client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id, 2))
    url = result["checkoutUrl"]
    assert "/sandbox/checkout/cs_sandbox_" in url
    path = url[url.index("/sandbox/") :]
    page = await client.get(path)
    assert page.status_code == 200 and "sandbox" in page.text.lower() and "Pay" in page.text
    paid = await client.post(f"{path}/pay")
    assert paid.status_code == 303 and "/checkout/success" in paid.headers["location"]
    order = await order_row(database_url, result["order"]["id"])
    assert order.status == "PAID" and await stock_of(database_url, pk) == (8, 0)
    assert (await client.get("/sandbox/checkout/cs_sandbox_nope")).status_code == 404
    (recorded,) = await sql(database_url, "SELECT type, outcome FROM processed_payment_events")
    assert (recorded.type, recorded.outcome) == ("checkout.session.completed", "paid")


async def test_sandbox_does_not_exist_with_a_real_key(shop: httpx.AsyncClient) -> None:
    assert (await shop.get("/sandbox/checkout/cs_sandbox_x")).status_code == 404


async def test_sandbox_webhook_secret_is_generated_once(settings: Settings) -> None:
    from core.settings import local_secret

    first = local_secret(settings, "stripe_webhook_secret", prefix="whsec_")
    assert first.startswith("whsec_") and first == local_secret(
        settings, "stripe_webhook_secret", prefix="whsec_"
    )
