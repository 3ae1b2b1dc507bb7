"""domain.order_breakdown: the parts of an order's snapshot as the dashboard lists them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from domain.addresses import address_lines
from domain.order_breakdown import breakdown_of, rate_text
from domain.staff_console import OrderRow

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _order(**snapshot: object) -> OrderRow:
    base: dict[str, object] = dict(
        id=1, public_id=uuid.uuid4(), number=1001, user_id=None, cart_id=None, email="a@example.com",
        status="PAID", currency="eur", subtotal=10000, total=0, tracking_number=None, stock_state="committed",
        shipping_address={"name": "A", "line1": "L", "city": "C", "postal_code": "P", "country": "DE"},
        reservation_expires_at=NOW, payment_session_id=None, payment_url=None, success_url=None,
        cancel_url=None, payment_intent_id=None, refund_id=None, paid_at=None, created_at=NOW,
        discount=0, shipping=0, tax=0, prices_include_tax=False, tax_lines=[], shipping_method_id=None,
        shipping_method_name=None, discount_codes=[], vat_number=None, reverse_charge=False,
        reverse_charge_reason=None, billing_address=None,
    )  # fmt: skip
    base.update(snapshot)
    return OrderRow(**base)  # type: ignore[arg-type]


def test_rates_read_as_percentages() -> None:
    assert [rate_text(p) for p in (2000, 1950, 725, 0)] == ["20%", "19.5%", "7.25%", "0%"]


def test_tax_included_in_the_prices_is_shown_but_not_counted_again() -> None:
    order = _order(
        subtotal=11900, discount=1190, discount_codes=["WELCOME10"], shipping=490,
        shipping_method_name="Standard", tax=1788, prices_include_tax=True, total=11200,
        tax_lines=[{"name": "VAT DE 19%", "basis_points": 1900, "amount": 1788}],
    )  # fmt: skip
    found = breakdown_of(order)
    assert [(p.label, p.amount, p.counts) for p in found.parts] == [
        ("Subtotal", 11900, True),
        ("Discount (WELCOME10)", -1190, True),
        ("Shipping (Standard)", 490, True),
        ("VAT DE 19%", 1788, False),
    ]
    assert found.adds_up and found.parts[-1].note == "included in the prices"


def test_a_rate_missing_from_the_name_is_added_and_a_reverse_charge_gives_its_reason() -> None:
    order = _order(subtotal=1000, shipping=200, tax=50, total=1250,
                   tax_lines=[{"name": "NY sales tax", "basis_points": 400, "amount": 50}])  # fmt: skip
    assert breakdown_of(order).parts[-1].label == "NY sales tax (4%)" and breakdown_of(order).adds_up
    business = _order(
        total=10000, reverse_charge=True, reverse_charge_reason="VAT due by the buyer", vat_number="FR1",
        billing_address={"name": "B", "line1": "1 rue", "line2": None, "city": "Paris", "postal_code": "75001",
                         "country": "FR"},
    )  # fmt: skip
    found = breakdown_of(business)
    assert found.parts[-1].label == "VAT reverse charge" and found.parts[-1].note == "VAT due by the buyer"
    assert found.adds_up and found.vat_number == "FR1"
    assert found.billing_address == ("B", "1 rue", "Paris, 75001", "FR")
    assert address_lines({"name": "N", "line1": "1", "city": "Albany", "state": "NY", "postal_code": "12207",
                          "country": "US"}) == ["N", "1", "Albany, NY, 12207", "US"]  # fmt: skip
