"""The dashboard's order page reads as an invoice: the shipping and billing addresses as lines, and
the totals part by part (subtotal, discount with its code, shipping with its method, tax lines with
their rates or the reverse charge with its reason, total) from the order's snapshot, the parts adding
up to the total. Customer-typed text is escaped."""

from __future__ import annotations

from typing import Any

import httpx

from domain.access import UserRow, actor_name, actor_user_id
from tests.dashboard import (
    csrf_of,
    listed_actions,
    offered_actions,
    open_page,
    order_page,
    row_action,
    signed_in_staff,
)
from tests.shop import checkout, new_cart, order_row, pay, variant_with_stock
from tests.support import RunningServer, graphql, sql
from tests.test_totals import PARIS, VALID_FR_VAT

HOSTILE_NAME = "<b>Ada</b> & Co <script>alert(1)</script>"
LONDON = {
    "name": HOSTILE_NAME,
    "line1": "12 Analytical Row",
    "line2": "Flat 3",
    "city": "London",
    "postalCode": "N1 9GU",
    "country": "GB",
}
BILLING = {
    "name": "Exemple SAS",
    "line1": "8 avenue de l'Opéra",
    "city": "Paris",
    "postalCode": "75001",
    "country": "FR",
}

METHODS = """
query($token: String, $address: AddressInput!) {
  cart(token: $token) { shippingMethods(address: $address) { id name } }
}
"""
APPLY = """
mutation($token: String, $code: String!) {
  cartDiscountCodeApply(cartToken: $token, code: $code) { userErrors { code } }
}
"""
CHECKOUT = """
mutation($token: String, $address: AddressInput!, $method: ID, $vat: String, $billing: AddressInput) {
  checkoutCreate(cartToken: $token, email: "buyer@example.com", shippingAddress: $address,
                 shippingMethodId: $method, vatNumber: $vat, billingAddress: $billing) {
    order { id number total { amount } }
    userErrors { field code message }
  }
}
"""


async def _order(
    client: httpx.AsyncClient, database_url: str, address: dict[str, Any], method: str, **extra: Any
) -> Any:
    variant, _, _ = await variant_with_stock(database_url, 50)
    token = await new_cart(client, variant, 3)
    assert (await graphql(client, APPLY, {"token": token, "code": "WELCOME10"}))["data"][
        "cartDiscountCodeApply"
    ]["userErrors"] == []
    methods = await graphql(client, METHODS, {"token": token, "address": address})
    (method_id,) = [m["id"] for m in methods["data"]["cart"]["shippingMethods"] if m["name"] == method]
    body = await graphql(client, CHECKOUT, {"token": token, "address": address, "method": method_id, **extra})
    assert "errors" not in body and body["data"]["checkoutCreate"]["userErrors"] == [], body
    return await order_row(database_url, body["data"]["checkoutCreate"]["order"]["id"])


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def _check_breakdown(page: Any, row: Any) -> dict[str, dict[str, Any]]:
    """The page's parts are the row's snapshot, and the counted parts add up to the total."""
    parts = {part["text"].split(" ")[0]: part for part in page.parts}
    assert page.total == row.total
    assert sum(part["amount"] for part in page.parts if part["counts"]) == row.total
    assert parts["Subtotal"]["amount"] == row.subtotal
    assert parts["Discount"]["amount"] == -row.discount < 0
    assert parts["Discount"]["text"].startswith("Discount (WELCOME10)")
    assert parts["Shipping"]["amount"] == row.shipping
    taxes = [part for part in page.parts if part["text"].startswith("VAT") and part["counts"]]
    assert sum(part["amount"] for part in taxes) == row.tax
    for part in page.parts:  # every amount is on the page as a person reads it
        assert part["text"].endswith(_money(part["amount"], row.currency)), part
    return parts


async def test_the_order_page_shows_addresses_as_lines_and_the_totals_part_by_part(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    uk = await _order(client, database_url, LONDON, "Standard")
    french = await _order(client, database_url, PARIS, "Express", vat=VALID_FR_VAT, billing=BILLING)
    async with signed_in_staff(server.url, database_url) as staff:
        uk_html = (await open_page(staff, "/admin/orders/detail", pk=uk.number)).text
        fr_html = (await open_page(staff, "/admin/orders/detail", pk=french.number)).text

    # A UK consumer: VAT at the UK rate on the goods after the discount and on the shipping.
    page = order_page(uk_html)
    assert page.lines["shipping_address"] == [
        HOSTILE_NAME,
        "12 Analytical Row",
        "Flat 3",
        "London, N1 9GU",
        "GB",
    ]
    assert "<b>Ada</b>" not in uk_html and "<script>alert(1)" not in uk_html
    assert "&lt;b&gt;Ada&lt;/b&gt; &amp; Co" in uk_html
    parts = _check_breakdown(page, uk)
    assert parts["Shipping"]["text"].startswith("Shipping (Standard)") and uk.shipping > 0
    (vat,) = [part for part in page.parts if part["text"].startswith("VAT")]
    assert "20%" in vat["text"] and vat["amount"] == uk.tax > 0
    assert '"name"' not in uk_html.split('id="shipping_address"')[1][:500]  # no raw JSON
    assert page.lines["billing_address"] == page.lines["shipping_address"]  # none given: the same
    assert "none given" in uk_html  # no VAT number (not the library's "-null-")
    assert "-null-" not in uk_html  # no tracking number yet: a dash
    history = page.lines["history"]
    assert len(history) == 1 and history[0].endswith(
        " UTC Awaiting Payment by the buyer (guest checkout): checkout created"
    )

    # A French business with a valid VAT number: reverse charge, no VAT, its reason and number shown.
    page = order_page(fr_html)
    parts = _check_breakdown(page, french)
    assert french.tax == 0 and french.reverse_charge
    (reverse,) = [part for part in page.parts if part["text"].startswith("VAT reverse charge")]
    assert not reverse["counts"] and "Article 196" in reverse["text"]
    assert page.lines["billing_address"] == ["Exemple SAS", "8 avenue de l'Opéra", "Paris, 75001", "FR"]
    assert page.lines["shipping_address"][0] == "Société Exemple"
    assert "FR40303265045" in fr_html


async def test_staff_refund_one_paid_order_and_cancel_another_with_their_reasons(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    numbers = []
    for _ in range(2):
        variant, _, _ = await variant_with_stock(database_url, 5)
        placed = await checkout(client, await new_cart(client, variant, 1), email="buyer@example.com")
        await pay(client, database_url, placed["order"]["id"])
        numbers.append(placed["order"]["number"])
    refunded, cancelled = numbers
    async with signed_in_staff(server.url, database_url) as staff:
        csrf = csrf_of((await open_page(staff, "/admin/orders/detail", pk=refunded)).text)
        for name, number, reason in (("refund", refunded, "Damaged <box>"), ("cancel", cancelled, "")):
            answer = await row_action(staff, "orders", name, number, csrf, reason=reason)
            assert answer.status_code == 200, answer.text
        # A cancelled order was refunded by its cancellation.
        refused = await row_action(staff, "orders", "refund", cancelled, csrf, reason="twice")
        assert refused.status_code == 400 and "INVALID_TRANSITION" in refused.text, refused.text
        refunded_page = order_page((await open_page(staff, "/admin/orders/detail", pk=refunded)).text)
        cancelled_page = order_page((await open_page(staff, "/admin/orders/detail", pk=cancelled)).text)
    # The history names who made each change (the staff member by name and address, escaped), not
    # the ids it records.
    staff_member = "Ada Shopper <boss@example.com> (staff)"
    history = [line.split(" UTC ", 1)[1] for line in refunded_page.lines["history"]]
    assert history[0] == "Awaiting Payment by the buyer (guest checkout): checkout created"
    assert history[1].startswith("Awaiting Payment → Paid by the payment provider (webhook)")
    assert history[-1] == f"Paid → Refunded by {staff_member}: Damaged <box>"
    assert cancelled_page.lines["history"][-1].endswith(f" UTC Paid → Cancelled by {staff_member}: cancelled")
    rows = await sql(
        database_url,
        "SELECT o.number, o.status, h.to_status, h.reason, h.actor FROM orders o"
        " JOIN order_status_history h ON h.order_id = o.id AND h.to_status = o.status"
        " WHERE o.number IN (:a, :b) ORDER BY o.number",
        a=refunded,
        b=cancelled,
    )
    assert [(row.number, row.status, row.reason) for row in rows] == [
        (refunded, "REFUNDED", "Damaged <box>"),
        (cancelled, "CANCELLED", "cancelled"),  # no reason given: the default
    ]
    assert all(row.actor.startswith("staff:") for row in rows)


# What the order page offers in each status: only the moves the state machine allows from it
# (ship takes a paid order through processing), none out of a final status.
OFFERED = {
    "AWAITING_PAYMENT": {"cancel"},
    "PAID": {"processing", "ship", "refund", "cancel"},
    "PROCESSING": {"ship", "refund", "cancel"},
    "SHIPPED": {"deliver", "refund"},
    "DELIVERED": {"complete", "refund"},
    "COMPLETED": set(),
    "REFUNDED": set(),
    "CANCELLED": set(),
}


async def test_the_order_page_offers_only_the_moves_the_state_machine_allows(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    placed = []
    for paid in (True, True, False):
        variant, _, _ = await variant_with_stock(database_url, 5)
        order = (await checkout(client, await new_cart(client, variant, 1), email="buyer@example.com"))[
            "order"
        ]
        if paid:
            await pay(client, database_url, order["id"])
        placed.append(order["number"])
    walked, refunded, unpaid = placed
    seen: dict[str, set[str]] = {}

    async with signed_in_staff(server.url, database_url) as staff:

        async def listed() -> dict[int, set[str]]:
            """The orders list's row actions (besides "view") of the three orders."""
            rows = listed_actions((await open_page(staff, "/admin/orders/list", q="buyer@example.com")).text)
            return {number: rows[str(number)] - {"view"} for number in placed}

        # The list's rows offer what the order pages offer.
        assert await listed() == {walked: OFFERED["PAID"], refunded: OFFERED["PAID"], unpaid: {"cancel"}}

        async def offered(number: int) -> tuple[str, set[str], str]:
            html = (await open_page(staff, "/admin/orders/detail", pk=number)).text
            (row,) = await sql(database_url, "SELECT status FROM orders WHERE number = :n", n=number)
            seen[row.status] = offered_actions(html)
            return row.status, seen[row.status], csrf_of(html)

        async def act(number: int, name: str, **form: str) -> None:
            _, actions, csrf = await offered(number)
            assert name in actions
            answer = await row_action(staff, "orders", name, number, csrf, **form)
            assert answer.status_code == 200, answer.text

        # One order along the whole lifecycle, the page read at every step.
        await act(walked, "processing")
        await act(walked, "ship", tracking_number="1Z-WALK")
        await act(walked, "deliver")
        await act(walked, "complete")
        status, _, csrf = await offered(walked)
        assert status == "COMPLETED"
        history = order_page((await open_page(staff, "/admin/orders/detail", pk=walked)).text).lines[
            "history"
        ]
        assert [line.split(" UTC ", 1)[1].split(" by ")[0] for line in history] == [
            "Awaiting Payment",
            "Awaiting Payment → Paid",
            "Paid → Processing",
            "Processing → Shipped",
            "Shipped → Delivered",
            "Delivered → Completed",
        ]
        await act(refunded, "refund", reason="")
        await offered(refunded)
        await act(unpaid, "cancel", reason="")
        await offered(unpaid)
        assert seen == OFFERED
        assert await listed() == {number: set() for number in placed}

        # A page opened before the order moved still posts the old move: the state machine refuses it
        # with its message, and the order stays where it is.
        for name, form in (("ship", {"tracking_number": "1Z-LATE"}), ("processing", {}), ("cancel", {})):
            stale = await row_action(staff, "orders", name, walked, csrf, **form)
            assert stale.status_code == 400 and "INVALID_TRANSITION" in stale.text, stale.text
            assert "Forbidden" not in stale.text
    (row,) = await sql(database_url, "SELECT status FROM orders WHERE number = :n", n=walked)
    assert row.status == "COMPLETED"


async def test_a_paid_order_without_a_payment_to_refund_is_not_offered_refund(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    """domain.order_actions refuses to refund an order with no payment id; the page does not offer it."""
    variant, _, _ = await variant_with_stock(database_url, 5)
    order = (await checkout(client, await new_cart(client, variant, 1), email="nopayment@example.com"))[
        "order"
    ]
    await pay(client, database_url, order["id"])
    await sql(database_url, "UPDATE orders SET payment_intent_id = NULL WHERE number = :n", n=order["number"])
    async with signed_in_staff(server.url, database_url) as staff:
        page = (await open_page(staff, "/admin/orders/detail", pk=order["number"])).text
        assert offered_actions(page) == OFFERED["PAID"] - {"refund"}
        rows = listed_actions((await open_page(staff, "/admin/orders/list", q="nopayment@example.com")).text)
        assert rows[str(order["number"])] - {"view"} == OFFERED["PAID"] - {"refund"}


def test_history_actors_are_named_for_staff_and_ids_kept_when_the_user_is_gone() -> None:
    ada = UserRow(id=7, email="ada@shop.example", name="Ada Admin", is_staff=True)
    bob = UserRow(id=8, email="bob@example.com", name="", is_staff=False)
    users = {7: ada, 8: bob}
    assert actor_name("staff:7", users) == "Ada Admin <ada@shop.example> (staff)"
    assert actor_name("staff:8", users) == "bob@example.com (staff)"  # no name: the address alone
    assert actor_name("user:8", users) == "the customer bob@example.com"
    assert actor_name("staff:9", users) == "staff:9"  # not found: what the history recorded
    assert actor_name("system", users) == "the shop (automatically)"
    ids = [actor_user_id(actor) for actor in ("staff:7", "user:8", "stripe", "staff:x", "staff:")]
    assert ids == [7, 8, None, None, None]
