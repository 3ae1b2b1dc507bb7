"""Applying payment-provider events (Stripe's, or the sandbox's in Stripe's shape) to orders.

Each event is recorded in the same transaction as its effects, so a redelivered event
changes nothing and a failed one leaves no trace and is retried. Events may arrive late,
twice or out of order: every effect names the statuses it may start from, so an order
never moves backwards.

A signed event may still be oddly shaped. Its id and type must be short printable ASCII (else
`event_identity` refuses it and the route answers 400); anything else that is not what a handler
reads (`data` or `metadata` that is not an object, an id that is not a short string) counts as
absent, so the event is recorded and answered 2xx with the outcome that follows (usually
"unknown_order"), never with an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.queue import enqueue
from domain.late_payments import LATE_REFUND_BACKSTOP_DELAY, REFUND_LATE_PAYMENT, refund_kept_charge
from domain.orders import EXPIRED_REASON, REFUNDABLE, OrderStatus, change_status
from domain.payments import PaymentProvider
from models import order_repository as orders

logger = logging.getLogger(__name__)

S = OrderStatus
ACTOR = "stripe"

MAX_ID_LENGTH = 255  # Stripe's ids are far shorter ("evt_" and 24 to 60 characters)

Handler = Callable[[AsyncConnection, dict[str, Any]], Awaitable[tuple[int | None, str]]]


def text(value: object, max_length: int = MAX_ID_LENGTH) -> str | None:
    """A short printable ASCII string, or None for anything else (which can be logged and stored)."""
    if isinstance(value, str) and 0 < len(value) <= max_length and value.isascii() and value.isprintable():
        return value
    return None


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def event_identity(event: object) -> tuple[str, str] | None:
    """The id and type of an event, when both are short printable ASCII strings."""
    if not isinstance(event, dict):
        return None
    event_id, event_type = text(event.get("id")), text(event.get("type"))
    return (event_id, event_type) if event_id and event_type else None


async def apply_payment_event(
    engine: AsyncEngine, event: dict[str, Any], payments: PaymentProvider | None = None
) -> str:
    """Apply one verified event; returns what became of it (for logs and tests).

    A payment for an order that was closed first is refunded through `payments` once the
    event's transaction has committed; when the provider cannot be reached this raises
    PaymentProviderUnavailable, the route answers 503, and Stripe's redelivery (a duplicate)
    tries the refund again.
    """
    identity = event_identity(event)
    if identity is None:
        raise ValueError("not an event: its id and type must be short printable strings")
    event_id, event_type = identity
    payload = mapping(mapping(event.get("data")).get("object"))
    async with engine.begin() as conn:
        if not await orders.record_payment_event(conn, event_id, event_type):
            order_id, first_outcome = await orders.payment_event_outcome(conn, event_id)
            outcome = "duplicate"
            if first_outcome != "paid_after_close":
                return outcome
        else:
            handler = HANDLERS.get(event_type)
            if handler is None:
                return "ignored"
            order_id, outcome = await handler(conn, payload)
            await orders.set_payment_event_outcome(conn, event_id, order_id, outcome)
    if outcome != "duplicate":
        logger.info("payment event %s (%s): %s", event_id, event_type, outcome)
    if payments is not None and order_id is not None and outcome in ("paid_after_close", "duplicate"):
        await refund_kept_charge(engine, payments, order_id)
    return outcome


async def _order_of_session(conn: AsyncConnection, session: dict[str, Any]) -> orders.OrderWithLines | None:
    """The order a checkout session was opened for, by the id we put in its metadata, locked for
    the event's transaction, with its lines (every handler that finds it changes it, or may, and
    a change moves the lines' stock: one statement, not two)."""
    raw = mapping(session.get("metadata")).get("order_id") or session.get("client_reference_id")
    order_id = _order_id(raw)
    found = await orders.order_with_lines(conn, order_id, lock=True) if order_id is not None else None
    if found is None:
        return None
    order = found.order
    if order.payment_session_id is not None and text(session.get("id")) not in (
        None,
        order.payment_session_id,
    ):
        logger.error("event names order %s with a session that is not its own", order.number)
        return None
    return found


def _order_id(raw: object) -> int | None:
    digits = text(raw, 19) or ""  # an order id is a positive bigint
    if not digits.isdigit() or not 0 < int(digits) < 2**63:
        return None
    return int(digits)


async def _existing_order_id(conn: AsyncConnection, raw: object) -> int | None:
    order_id = _order_id(raw)
    if order_id is None:
        return None
    return order_id if await orders.orders_by_ids(conn, [order_id]) else None


async def _mark_paid(conn: AsyncConnection, session: dict[str, Any]) -> tuple[int | None, str]:
    locked = await _order_of_session(conn, session)
    if locked is None:
        return None, "unknown_order"
    order = locked.order
    order_id = order.id
    amount, currency = session.get("amount_total"), (text(session.get("currency"), 3) or "").lower()
    if amount != order.total or currency != order.currency:
        logger.error(
            "payment for order %s does not match it: paid %s %s, order is %s %s; not marked paid, check it",
            order.number,
            amount if isinstance(amount, int) else "(not a number)",
            currency,
            order.total,
            order.currency,
        )
        return order_id, "amount_mismatch"
    if order.status in (S.CANCELLED.value, S.FAILED.value):
        return order_id, await _paid_after_close(conn, order, session.get("payment_intent"))
    change = await change_status(
        conn,
        order_id,
        S.PAID,
        actor=ACTOR,
        reason="payment received",
        only_from={S.AWAITING_PAYMENT},
        locked=locked,
        paid_at=datetime.now(UTC),
        payment_intent_id=text(session.get("payment_intent")),
        payment_session_id=order.payment_session_id or text(session.get("id")),
    )
    return order_id, "paid" if change.changed else "already_applied"


async def _paid_after_close(conn: AsyncConnection, order: orders.OrderRow, intent: object) -> str:
    """A payment for an order cancelled (or failed) first: keep its intent, to refund it after commit."""
    if isinstance(intent, str) and intent and order.payment_intent_id is None:
        await orders.update_order(conn, order.id, payment_intent_id=intent)
        # The webhook refunds at once after commit; this job is the backstop when it cannot.
        await enqueue(
            conn,
            REFUND_LATE_PAYMENT,
            {"order_id": order.id},
            dedupe_key=f"refund-late:{order.id}",
            delay=LATE_REFUND_BACKSTOP_DELAY,
        )
        logger.error(
            "payment arrived for order %s after it became %s: refund it (refunding automatically)",
            order.number,
            order.status,
        )
    elif order.refund_id is None or intent != order.payment_intent_id:
        logger.error(
            "payment arrived for order %s after it became %s: refund it by hand", order.number, order.status
        )
    return "paid_after_close"


async def checkout_completed(conn: AsyncConnection, session: dict[str, Any]) -> tuple[int | None, str]:
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return await _mark_paid(conn, session)
    # Delayed payment methods complete first and pay later (async_payment_succeeded).
    locked = await _order_of_session(conn, session)
    return (locked.order.id if locked is not None else None), "awaiting_payment"


async def async_payment_failed(conn: AsyncConnection, session: dict[str, Any]) -> tuple[int | None, str]:
    locked = await _order_of_session(conn, session)
    if locked is None:
        return None, "unknown_order"
    change = await change_status(
        conn,
        locked.order.id,
        S.FAILED,
        actor=ACTOR,
        reason="payment failed",
        only_from={S.AWAITING_PAYMENT},
        locked=locked,
    )
    return locked.order.id, "failed" if change.changed else "already_applied"


async def checkout_expired(conn: AsyncConnection, session: dict[str, Any]) -> tuple[int | None, str]:
    locked = await _order_of_session(conn, session)
    if locked is None:
        return None, "unknown_order"
    change = await change_status(
        conn,
        locked.order.id,
        S.CANCELLED,
        actor=ACTOR,
        reason=EXPIRED_REASON,
        only_from={S.AWAITING_PAYMENT},
        locked=locked,
    )
    return locked.order.id, "cancelled" if change.changed else "already_applied"


async def charge_refunded(conn: AsyncConnection, charge: dict[str, Any]) -> tuple[int | None, str]:
    payment_intent = text(charge.get("payment_intent"))
    order_id = await orders.order_id_by_payment_intent(conn, payment_intent) if payment_intent else None
    if order_id is None:
        return None, "unknown_order"
    refunded_in_full = charge.get("refunded") is True or (
        charge.get("amount_refunded") is not None and charge.get("amount_refunded") == charge.get("amount")
    )
    if not refunded_in_full:
        return order_id, "partial_refund_recorded"
    change = await change_status(
        conn, order_id, S.REFUNDED, actor=ACTOR, reason="refunded", only_from=REFUNDABLE
    )
    return order_id, "refunded" if change.changed else "already_applied"


async def payment_attempt_failed(conn: AsyncConnection, intent: dict[str, Any]) -> tuple[int | None, str]:
    # Checkout lets the shopper try another card until the session expires: nothing changes.
    order_id = await _existing_order_id(conn, mapping(intent.get("metadata")).get("order_id"))
    return order_id, "attempt_failed_recorded"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": _mark_paid,
    "checkout.session.async_payment_failed": async_payment_failed,
    "checkout.session.expired": checkout_expired,
    "charge.refunded": charge_refunded,
    "payment_intent.payment_failed": payment_attempt_failed,
}
