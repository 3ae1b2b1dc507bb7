"""What customers are told, and when: e-mail that follows an order's changes.

`order_changed` runs inside the transaction of the change (domain.orders.change_status, checkout,
a late payment's refund) and enqueues a job there: the message exists if and only if the change
committed. The job (`send_order_email`) renders the message from the order as it is then, claims
its Message-ID, sends it (or captures it in the database when SMTP is not configured), and marks
it sent. The Message-ID is derived from the order and the kind of message, so a redelivered
webhook, a retried job or two workers never send one message twice.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core import pii
from core.db import read_engine_of
from core.queue import enqueue
from core.settings import Settings
from mail.render import MessageKind, build_message, default_sender, render
from models import mail_repository as mails
from models import order_repository as orders
from models.order_repository import OrderRow

logger = logging.getLogger(__name__)

K = MessageKind
SEND_ORDER_EMAIL = "send_order_email"
# Messages that follow an order reaching a status (checkout creates AWAITING_PAYMENT).
BY_STATUS: dict[str, MessageKind] = {
    "AWAITING_PAYMENT": K.ORDER_CONFIRMATION,
    "PAID": K.PAYMENT_RECEIVED,
    "SHIPPED": K.ORDER_SHIPPED,
    "DELIVERED": K.ORDER_DELIVERED,
    "CANCELLED": K.ORDER_CANCELLED,
    "REFUNDED": K.ORDER_REFUNDED,
}
ORDER_KINDS = frozenset(BY_STATUS.values())
# The messages whose templates say why the order reached its status (read from its history).
SHOWS_REASON = frozenset({K.ORDER_CANCELLED})
# The e-mail domain of an erased order or account (domain.privacy; RFC 2606, never delivers).
ERASED_DOMAIN = "erased.invalid"


class MessageClaimed(Exception):
    """Another attempt is sending this message (or died doing so): retry once its claim runs out."""


def claim_lease(settings: Settings) -> float:
    """Seconds a claim on a message lasts: longer than the SMTP conversation may take."""
    return 2 * settings.smtp_timeout + 5


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(slots=True, frozen=True)
class Mailer:
    """Settings and transport of outgoing mail; `transport` None captures messages instead."""

    settings: Settings
    transport: Transport | None

    @property
    def domain(self) -> str:
        return urlsplit(self.settings.base_url).hostname or "localhost"

    @property
    def sender(self) -> str:
        return self.settings.mail_from or default_sender(self.settings.shop_name, self.domain)


async def order_changed(conn: AsyncConnection, order_id: int, to_status: str) -> None:
    """Enqueue the message that follows an order reaching `to_status`, in the caller's transaction."""
    kind = BY_STATUS.get(to_status)
    if kind is not None:
        await enqueue_order_email(conn, order_id, kind)


async def enqueue_order_email(conn: AsyncConnection, order_id: int, kind: MessageKind) -> None:
    await enqueue(
        conn,
        SEND_ORDER_EMAIL,
        {"order_id": order_id, "kind": kind.value},
        dedupe_key=f"mail:{kind.value}:{order_id}",
    )


def message_id(kind: MessageKind, key: str, domain: str) -> str:
    """Stable per (kind, order): what makes a retried send recognisable, here and by mail servers."""
    return f"<{kind.value.replace('_', '-')}.{key}@{domain}>"


async def send_order_email(engine: AsyncEngine, mailer: Mailer, order_id: int, kind: MessageKind) -> str:
    """Send (or capture) one order message once; returns what happened (for logs and tests).

    Raises MailNotSent (from the transport) when the server refused or could not be reached:
    the claim is given back and the job is retried with backoff.
    """
    if kind not in ORDER_KINDS:
        raise ValueError(f"not an order message: {kind}")
    if mailer.transport is None:
        # Captured, not sent: the reads, then the capture in one statement (claim and mark at once:
        # nothing leaves the process in between), each its own transaction (no BEGIN/COMMIT round
        # trips on a direct connection); sending takes three (read; claim; mark sent after the send).
        async with read_engine_of(engine).begin() as conn:
            message = await _order_message(conn, mailer, order_id, kind)
            if isinstance(message, str):
                return message
            return await _capture(conn, mailer, kind, message)
    async with engine.connect() as conn:
        message = await _order_message(conn, mailer, order_id, kind)
    if isinstance(message, str):
        return message
    return await _deliver(engine, mailer, kind, **message)


async def _order_message(
    conn: AsyncConnection, mailer: Mailer, order_id: int, kind: MessageKind
) -> dict[str, Any] | str:
    """What `_deliver` needs to send an order's message, or why there is none ("no_order", "erased")."""
    found = await orders.order_with_lines(conn, order_id)  # one statement
    if found is None:
        return "no_order"
    order, lines = found.order, found.lines
    if order.email.endswith("@" + ERASED_DOMAIN):
        return "erased"
    reason = None
    if kind in SHOWS_REASON:
        history = await orders.history_of_orders(conn, [order_id])
        reason = next(
            (c.reason for c in reversed(history.get(order_id, [])) if c.to_status == order.status), None
        )
    context = {"shop": _shop(mailer.settings), "order": _order_context(mailer.settings, order, lines, reason)}
    return {
        "key": str(order.public_id),
        "order_id": order.id,
        "recipient": order.email,
        "context": context,
    }


async def _capture(conn: AsyncConnection, mailer: Mailer, kind: MessageKind, message: dict[str, Any]) -> str:
    rendered = render(kind, message["context"])
    mid = message_id(kind, message["key"], mailer.domain)
    captured = await mails.capture(
        conn,
        message_id=mid,
        kind=kind.value,
        order_id=message["order_id"],
        recipient=message["recipient"],
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
    )
    if captured == "done":
        return "already_sent"
    if captured == "held":
        raise MessageClaimed(mid)
    return "captured"


ACCOUNT_KINDS = frozenset(
    {
        K.ACCOUNT_VERIFICATION,
        K.PASSWORD_RESET,
        K.EMAIL_CHANGE,
        K.EMAIL_CHANGE_NOTICE,
        K.PASSWORD_CHANGED,
        K.ACCOUNT_DELETED,
    }
)
SEND_ACCOUNT_EMAIL = "send_account_email"
_SEALED_CONTEXT = "jobs.send_account_email"


async def enqueue_account_email(
    conn: AsyncConnection,
    kind: MessageKind,
    *,
    key: str,
    recipient: str,
    name: str,
    link: str,
    expires_in: str = "",
) -> None:
    """Enqueue an account message in the caller's transaction. What it carries (the address, the
    name, a link with a token) is sealed with the PII key: the job table never holds it plain."""
    sealed = pii.encrypt(
        json.dumps({"recipient": recipient, "name": name, "link": link, "expires_in": expires_in}).encode(),
        _SEALED_CONTEXT,
    )
    await enqueue(
        conn,
        SEND_ACCOUNT_EMAIL,
        {"kind": kind.value, "key": key, "sealed": sealed},
        dedupe_key=f"mail:{kind.value}:{key}",
    )


async def send_sealed_account_email(engine: AsyncEngine, mailer: Mailer, payload: dict[str, Any]) -> str:
    """The job of `enqueue_account_email`."""
    opened = json.loads(pii.decrypt(str(payload["sealed"]), _SEALED_CONTEXT))
    return await send_account_email(
        engine,
        mailer,
        MessageKind(payload["kind"]),
        key=str(payload["key"]),
        recipient=opened["recipient"],
        name=opened["name"],
        link=opened["link"],
        expires_in=opened["expires_in"],
    )


async def send_account_email(
    engine: AsyncEngine,
    mailer: Mailer,
    kind: MessageKind,
    *,
    key: str,
    recipient: str,
    name: str,
    link: str,
    expires_in: str,
) -> str:
    """Send an account message (for the account flows): `key` names this message once (the id
    of the token it carries, never the token), so a retried job sends it once."""
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"not an account message: {kind}")
    context = {
        "shop": _shop(mailer.settings),
        "account": {"name": name, "link": link, "expires_in": expires_in},
    }
    return await _deliver(engine, mailer, kind, key=key, order_id=None, recipient=recipient, context=context)


async def _deliver(
    engine: AsyncEngine,
    mailer: Mailer,
    kind: MessageKind,
    *,
    key: str,
    order_id: int | None,
    recipient: str,
    context: dict[str, Any],
) -> str:
    if mailer.transport is None:
        async with read_engine_of(engine).begin() as conn:  # one statement (see send_order_email)
            message = {"key": key, "order_id": order_id, "recipient": recipient, "context": context}
            return await _capture(conn, mailer, kind, message)
    rendered = render(kind, context)
    mid = message_id(kind, key, mailer.domain)
    async with engine.begin() as conn:
        claimed = await mails.claim(
            conn,
            message_id=mid,
            kind=kind.value,
            order_id=order_id,
            recipient=recipient,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            lease=claim_lease(mailer.settings),
        )
    if claimed == "done":
        return "already_sent"
    if claimed == "held":
        raise MessageClaimed(mid)
    message = build_message(rendered, sender=mailer.sender, recipient=recipient, message_id=mid)
    try:
        await mailer.transport.send(message)  # outside any transaction
    except Exception as error:
        async with engine.begin() as conn:
            await mails.release(conn, mid, str(error))
        raise
    async with engine.begin() as conn:
        await mails.mark_sent(conn, mid, captured=False)
    return "sent"


async def captured_messages(engine: AsyncEngine, limit: int) -> list[mails.MailRow]:
    """The newest messages, for the demo mailbox."""
    async with engine.connect() as conn:
        return await mails.recent(conn, limit)


async def captured_message(engine: AsyncEngine, message_pk: int) -> mails.MailRow | None:
    async with engine.connect() as conn:
        return await mails.by_id(conn, message_pk)


def _shop(settings: Settings) -> dict[str, str]:
    return {"name": settings.shop_name, "url": settings.storefront_base_url + "/"}


def _order_context(
    settings: Settings, order: OrderRow, lines: list[orders.OrderLineRow], reason: str | None
) -> dict[str, Any]:
    address = order.shipping_address or {}
    city_line = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    address_lines = [
        part
        for part in (
            address.get("name"),
            address.get("line1"),
            address.get("line2"),
            city_line,
            address.get("state"),
            address.get("country"),
        )
        if part
    ]
    global_id = base64.b64encode(f"Order:{order.id}".encode()).decode()  # as graph.ids writes it
    return {
        "number": order.number,
        "customer_name": address.get("name") or "there",
        "currency": order.currency,
        "subtotal": order.subtotal,
        "total": order.total,
        "breakdown": _breakdown(order),
        "lines": [
            {
                "product_name": line.product_name,
                "variant_name": line.variant_name,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
            }
            for line in lines
        ],
        "address_lines": address_lines,
        "tracking_number": order.tracking_number,
        "url": f"{settings.storefront_base_url}/#/orders/{global_id}",
        "reason": reason,
        "was_paid": order.paid_at is not None,
        "late_payment": order.paid_at is None and order.refund_id is not None,
    }


def _breakdown(order: OrderRow) -> list[dict[str, object]]:
    """Discount, shipping and tax lines between the subtotal and the total (issue 15)."""
    rows: list[dict[str, object]] = []
    if order.discount:
        rows.append({"label": f"Discount ({', '.join(order.discount_codes)})", "amount": -order.discount})
    if order.shipping_method_name is not None:
        rows.append({"label": f"Shipping ({order.shipping_method_name})", "amount": order.shipping})
    included = " (included)" if order.prices_include_tax else ""
    rows += [
        {"label": f"{line['name']}{included}", "amount": int(line["amount"])} for line in order.tax_lines
    ]
    if order.reverse_charge:
        rows.append({"label": f"VAT reverse charge, VAT number {order.vat_number}", "amount": 0})
    return rows
