"""What owners and staff do to orders: cancel, refund, and move along the fulfilment lifecycle.

Refunds call the payment provider outside any transaction, with an idempotency key
derived from the order; the order ends REFUNDED once, whether the provider's answer or
its `charge.refunded` event is applied first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import OrderCode, PaymentCode, Problem
from domain.orders import (
    EXPIRED_REASON,
    PAID_NOT_SHIPPED,
    REFUNDABLE,
    UNPAID,
    InvalidTransition,
    OrderStatus,
    change_status,
)
from domain.payments import PaymentProvider, PaymentProviderUnavailable, RefundRefused
from models import order_repository as orders
from models.order_repository import OrderRow

logger = logging.getLogger(__name__)

S = OrderStatus
FULFILMENT_STEPS = frozenset({S.PROCESSING, S.SHIPPED, S.DELIVERED, S.COMPLETED})
MAX_REASON_LENGTH = 500
MAX_TRACKING_LENGTH = 100


@dataclass(slots=True)
class OrderActionResult:
    order: OrderRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _invalid(error: InvalidTransition) -> OrderActionResult:
    return OrderActionResult(problems=[Problem(OrderCode.INVALID_TRANSITION, str(error), ("status",))])


def _clean_reason(reason: str | None) -> str | None:
    """Whitespace collapsed, characters that are not printable (NUL, bidi controls) dropped, capped."""
    if not reason:
        return None
    printable = "".join(character for character in " ".join(reason.split()) if character.isprintable())
    return printable[:MAX_REASON_LENGTH] or None


async def _current(engine: AsyncEngine, order_id: int) -> OrderRow:
    async with engine.connect() as conn:
        return (await orders.orders_by_ids(conn, [order_id]))[order_id]


async def update_status(
    engine: AsyncEngine,
    order_id: int,
    target: OrderStatus,
    *,
    actor: str,
    reason: str | None,
    tracking_number: str | None,
) -> OrderActionResult:
    if target not in FULFILMENT_STEPS:
        return OrderActionResult(
            problems=[
                Problem(
                    OrderCode.INVALID_TRANSITION,
                    "Use orderCancel or orderRefund for that; this moves orders along fulfilment only.",
                    ("status",),
                )
            ]
        )
    fields: dict[str, object] = {}
    if target is S.SHIPPED:
        tracking = " ".join((tracking_number or "").split())
        if not tracking or len(tracking) > MAX_TRACKING_LENGTH or not tracking.isprintable():
            return OrderActionResult(
                problems=[
                    Problem(
                        OrderCode.TRACKING_NUMBER_REQUIRED,
                        "Shipping needs a tracking number"
                        f" of {MAX_TRACKING_LENGTH} printable characters or less.",
                        ("tracking_number",),
                    )
                ]
            )
        fields["tracking_number"] = tracking
    try:
        async with engine.begin() as conn:
            change = await change_status(
                conn, order_id, target, actor=actor, reason=_clean_reason(reason), **fields
            )
    except InvalidTransition as error:
        return _invalid(error)
    return OrderActionResult(order=change.order)


async def cancel_order(
    engine: AsyncEngine,
    payments: PaymentProvider,
    order_id: int,
    *,
    actor: str,
    by_staff: bool,
    reason: str | None,
) -> OrderActionResult:
    """Owners cancel before payment; staff cancel where the lifecycle allows, refunding a paid order.

    The status is decided under the order's row lock, the lock a payment takes too: an owner's
    cancel and a payment arriving at the same moment never both win.
    """
    if by_staff:
        return await _cancel_by_staff(engine, payments, order_id, actor=actor, reason=reason)
    async with engine.begin() as conn:
        change = await change_status(
            conn,
            order_id,
            S.CANCELLED,
            actor=actor,
            reason=_clean_reason(reason) or "cancelled",
            only_from=UNPAID,
        )
    if not change.changed:
        return OrderActionResult(problems=[_not_cancellable_by_owner(S(change.order.status))])
    if change.order.payment_session_id:
        await payments.expire_checkout(change.order.payment_session_id)
    return OrderActionResult(order=change.order)


def _not_cancellable_by_owner(status: OrderStatus) -> Problem:
    if status is S.CANCELLED:
        message = "This order is cancelled already."
    elif status in PAID_NOT_SHIPPED:
        message = "This order is paid: only the shop can cancel it now, and it refunds the payment."
    else:
        message = f"An order that is {status.value} cannot be cancelled."
    return Problem(OrderCode.INVALID_TRANSITION, message, ("id",))


# A staff cancel retries when a payment (or refund) lands between its read and its lock.
_STAFF_CANCEL_ATTEMPTS = 3


async def _cancel_by_staff(
    engine: AsyncEngine, payments: PaymentProvider, order_id: int, *, actor: str, reason: str | None
) -> OrderActionResult:
    for _ in range(_STAFF_CANCEL_ATTEMPTS):
        order = await _current(engine, order_id)
        status = S(order.status)
        fields: dict[str, object] = {}
        if status in PAID_NOT_SHIPPED and order.payment_intent_id:
            refunded = await _refund_payment(payments, order.payment_intent_id, order)
            if isinstance(refunded, Problem):
                return OrderActionResult(problems=[refunded])
            fields["refund_id"] = refunded
        try:
            async with engine.begin() as conn:
                # Only from the status the refund decision was made on: a payment that landed
                # meanwhile makes this change nothing, and the loop decides again, refunding.
                change = await change_status(
                    conn,
                    order_id,
                    S.CANCELLED,
                    actor=actor,
                    reason=_clean_reason(reason) or "cancelled",
                    only_from={status},
                    **fields,
                )
        except InvalidTransition as error:
            return _invalid(error)
        if change.changed:
            if status in UNPAID and order.payment_session_id:
                await payments.expire_checkout(order.payment_session_id)
            return OrderActionResult(order=change.order)
    return OrderActionResult(
        problems=[
            Problem(
                OrderCode.INVALID_TRANSITION, "The order kept changing; nothing changed. Try again.", ("id",)
            )
        ]
    )


async def refund_order(
    engine: AsyncEngine, payments: PaymentProvider, order_id: int, *, actor: str, reason: str | None
) -> OrderActionResult:
    order = await _current(engine, order_id)
    status = S(order.status)
    if status is S.REFUNDED:
        return OrderActionResult(order=order)
    if status not in REFUNDABLE or not order.payment_intent_id:
        return OrderActionResult(
            problems=[
                Problem(
                    OrderCode.INVALID_TRANSITION,
                    f"An order that is {status.value} cannot be refunded.",
                    ("id",),
                )
            ]
        )
    refunded = await _refund_payment(payments, order.payment_intent_id, order)
    if isinstance(refunded, Problem):
        return OrderActionResult(problems=[refunded])
    async with engine.begin() as conn:
        # The charge.refunded event may have been applied meanwhile: then this changes nothing.
        change = await change_status(
            conn,
            order_id,
            S.REFUNDED,
            actor=actor,
            reason=_clean_reason(reason) or "refunded",
            only_from=REFUNDABLE,
            refund_id=refunded,
        )
    return OrderActionResult(order=change.order)


async def _refund_payment(
    payments: PaymentProvider, payment_intent_id: str, order: OrderRow
) -> str | Problem:
    """The refund step of cancel and refund: the provider's refund id, or the problem to answer.

    Called outside any transaction; the idempotency key derived from the order makes a retry
    refund once.
    """
    try:
        return await payments.refund(payment_intent_id, order.public_id)
    except PaymentProviderUnavailable:
        return _provider_unavailable()
    except RefundRefused as error:
        return Problem(PaymentCode.REFUND_FAILED, str(error), ("id",))


def _provider_unavailable() -> Problem:
    return Problem(
        PaymentCode.PAYMENT_PROVIDER_UNAVAILABLE,
        "The payment provider cannot be reached; nothing changed. Try again.",
    )


async def cancel_overdue_orders(engine: AsyncEngine, payments: PaymentProvider) -> int:
    """Cancel unpaid orders whose reservation ran out and release their stock, each exactly once."""
    cancelled = 0
    expired_sessions: list[str] = []
    async with engine.begin() as conn:
        for order_id in await orders.overdue_order_ids(conn, datetime.now(UTC)):
            change = await change_status(
                conn,
                order_id,
                S.CANCELLED,
                actor="system",
                reason=EXPIRED_REASON,
                only_from={S.AWAITING_PAYMENT},
            )
            cancelled += change.changed
            if change.changed and change.order.payment_session_id:
                expired_sessions.append(change.order.payment_session_id)
    for session_id in expired_sessions:
        await payments.expire_checkout(session_id)
    return cancelled
