"""Messages from templates: a subject, a plain-text part and an HTML part per kind.

HTML templates autoescape every value (names, addresses, product names and tracking numbers
come from shoppers and staff); the plain-text part is not HTML and is not escaped. Subjects are
one line, whatever a value holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


class MessageKind(StrEnum):
    ORDER_CONFIRMATION = "order_confirmation"
    PAYMENT_RECEIVED = "payment_received"
    ORDER_SHIPPED = "order_shipped"
    ORDER_DELIVERED = "order_delivered"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REFUNDED = "order_refunded"
    ACCOUNT_VERIFICATION = "account_verification"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of message, not a password
    EMAIL_CHANGE = "email_change"  # the confirmation link, to the new address
    EMAIL_CHANGE_NOTICE = "email_change_notice"  # to the old address
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a kind of message, not a password
    ACCOUNT_DELETED = "account_deleted"


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,  # a missing value is a bug, not an empty string in a customer's mail
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # The templates ship with the code: no stat() of each file, on the event loop, at every render.
    auto_reload=False,
)

# Currencies whose minor unit is the unit itself (Stripe's list of zero-decimal currencies).
_ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())


def money(amount: int, currency: str) -> str:
    """An amount in minor units as people read it: 1234 usd is "12.34 USD"."""
    code = currency.upper()
    if currency.lower() in _ZERO_DECIMAL:
        return f"{amount:,} {code}"
    return f"{amount // 100:,}.{amount % 100:02d} {code}" if amount >= 0 else f"-{money(-amount, currency)}"


_environment.filters["money"] = money


@dataclass(slots=True, frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: MessageKind, context: dict[str, Any]) -> Rendered:
    subject = _environment.get_template(f"{kind.value}.subject.txt").render(context)
    return Rendered(
        subject=_one_line(subject),
        text=_environment.get_template(f"{kind.value}.txt").render(context),
        html=_environment.get_template(f"{kind.value}.html").render(context),
    )


def _one_line(value: str) -> str:
    return re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in value)).strip()[:200]


def build_message(rendered: Rendered, *, sender: str, recipient: str, message_id: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, as RFC 2046 orders them)."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def default_sender(shop_name: str, host: str) -> str:
    return formataddr((shop_name, f"shop@{host}"))
