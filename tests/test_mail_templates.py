"""Every message renders, with an HTML part that escapes what shoppers and staff typed."""

from __future__ import annotations

from pathlib import Path

from domain.notifications import ORDER_KINDS, SHOWS_REASON
from mail.render import MessageKind, build_message, money, render

HOSTILE = '<script>alert(1)</script> & "Bob"'
ORDER = {
    "number": 1001,
    "customer_name": HOSTILE,
    "currency": "usd",
    "subtotal": 123456,
    "total": 123456,
    "lines": [
        {
            "product_name": HOSTILE,
            "variant_name": "Blue",
            "sku": "SKU-1",
            "quantity": 2,
            "unit_price": 61728,
            "line_total": 123456,
        }
    ],
    "address_lines": [HOSTILE, "12 Analytical Row", "N1 9GU London", "GB"],
    "tracking_number": HOSTILE,
    "url": "https://shop.example/#/orders/T3JkZXI6MQ==",
    "reason": HOSTILE,
    "was_paid": True,
    "late_payment": False,
}
SHOP = {"name": "Test & Co", "url": "https://shop.example/"}


def test_every_kind_renders_both_parts_escaping_html_only() -> None:
    for kind in MessageKind:
        context = {
            "shop": SHOP,
            "order": ORDER,
            "account": {
                "name": HOSTILE,
                "link": "https://shop.example/verify?t=abc&x=1",
                "expires_in": "24 hours",
            },
        }
        rendered = render(kind, context)
        assert rendered.subject and "\n" not in rendered.subject
        assert "<script>" not in rendered.html, kind
        assert "&lt;script&gt;" in rendered.html, kind
        assert HOSTILE in rendered.text, kind  # plain text is not HTML: nothing to escape
        message = build_message(
            rendered,
            sender="Shop <shop@example.test>",
            recipient="a@example.test",
            message_id="<x@example.test>",
        )
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    shipped = render(MessageKind.ORDER_SHIPPED, {"shop": SHOP, "order": ORDER})
    assert "1,234.56 USD" in shipped.text and "Tracking number" in shipped.text


def test_money_in_minor_units() -> None:
    assert money(123456, "usd") == "1,234.56 USD"
    assert money(5, "eur") == "0.05 EUR"
    assert money(1500, "jpy") == "1,500 JPY"


def test_the_order_messages_that_show_a_reason_are_given_it() -> None:
    """The e-mail job reads an order's history only for the messages whose templates show why
    (domain.notifications.SHOWS_REASON): every template that mentions the reason is one of them,
    and no shared part does."""
    templates = Path(__file__).resolve().parent.parent / "mail" / "templates"
    assert not [path.name for path in templates.glob("_*") if "reason" in path.read_text()]
    showing = {
        kind
        for kind in ORDER_KINDS
        for path in templates.glob(f"{kind.value}.*")
        if "reason" in path.read_text()
    }
    assert showing
    assert showing <= SHOWS_REASON
