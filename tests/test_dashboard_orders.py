"""The dashboard's order page reads as an invoice: the shipping and billing addresses as lines, and
the totals part by part (subtotal, discount with its code, shipping with its method, tax lines with
their rates or the reverse charge with its reason, total) from the order's snapshot, the parts adding
up to the total. Customer-typed text is escaped."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dashboard import csrf_of, dashboard_sign_in, new_staff, order_page
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
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as staff:
        assert (await dashboard_sign_in(staff, await new_staff(staff, database_url))).status_code == 303
        uk_html = (await staff.get("/admin/orders/detail", params={"pk": uk.number})).text
        fr_html = (await staff.get("/admin/orders/detail", params={"pk": french.number})).text

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
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as staff:
        assert (await dashboard_sign_in(staff, await new_staff(staff, database_url))).status_code == 303
        csrf = csrf_of((await staff.get("/admin/orders/detail", params={"pk": refunded})).text)
        for name, number, reason in (("refund", refunded, "Damaged <box>"), ("cancel", cancelled, "")):
            answer = await staff.post(
                "/admin/_api/orders/row-action",
                params={"name": name, "pk": number},
                data={"reason": reason, "csrftoken": csrf},
            )
            assert answer.status_code == 200, answer.text
        refused = await staff.post(  # a cancelled order was refunded by its cancellation
            "/admin/_api/orders/row-action",
            params={"name": "refund", "pk": cancelled},
            data={"reason": "twice", "csrftoken": csrf},
        )
        assert refused.status_code == 400 and "INVALID_TRANSITION" in refused.text, refused.text
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
