"""Payments that arrive for an order already cancelled (or failed): refunded automatically.

An owner's cancel and a payment are decided under the order's row lock, so exactly one wins;
when the cancel won, the payment that follows is a charge the shop must not keep. The event's
transaction records its payment intent on the closed order; once it has committed, this refunds
it through the provider (never inside a transaction), with the order's refund idempotency key,
and records the refund id. An order that is closed, has a payment intent and no refund id is a
kept charge: that is what a retry looks for, and what the tests assert never remains.

The event's transaction also enqueues a `refund_late_payment` job (jobs.tasks): when the refund
cannot be made at once, the job retries it with backoff even if Stripe never redelivers. The
refund is recorded on the order's history (CANCELLED to CANCELLED, "late payment refunded") and
the customer gets the refund e-mail, once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.notifications import enqueue_order_email
from domain.orders import OrderStatus
from domain.payments import PaymentProvider, RefundRefused
from mail.render import MessageKind
from models import order_repository as orders
from models.order_repository import OrderRow

logger = logging.getLogger(__name__)

CLOSED = frozenset({OrderStatus.CANCELLED.value, OrderStatus.FAILED.value})
REFUND_LATE_PAYMENT = "refund_late_payment"  # the job, enqueued with the payment event
# The job runs this long after the event, so that it does not race the webhook's own attempt.
LATE_REFUND_BACKSTOP_DELAY = timedelta(seconds=60)
LATE_REFUND_REASON = "late payment refunded"


def keeps_charge(order: OrderRow) -> bool:
    """A closed order holding a payment that was never refunded."""
    return order.status in CLOSED and order.payment_intent_id is not None and order.refund_id is None


async def refund_kept_charge(engine: AsyncEngine, payments: PaymentProvider, order_id: int) -> str | None:
    """Refund a closed order's kept charge, once; returns the refund id, None when there was none.

    PaymentProviderUnavailable propagates (the caller answers so that it is retried); a refund
    the provider refuses is logged for staff to settle by hand.
    """
    async with engine.connect() as conn:
        order = (await orders.orders_by_ids(conn, [order_id])).get(order_id)
    if order is None or not keeps_charge(order):
        return None
    assert order.payment_intent_id is not None
    try:
        refund_id = await payments.refund(order.payment_intent_id, order.public_id)
    except RefundRefused:
        logger.error("the late payment of order %s could not be refunded: refund it by hand", order.number)
        return None
    async with engine.begin() as conn:
        if await orders.record_refund(conn, order.id, refund_id):
            # Once, whoever records it (the webhook's attempt or the job): the history says so,
            # and the customer is told.
            await orders.append_history(
                conn, order.id, order.status, order.status, LATE_REFUND_REASON, "system"
            )
            await enqueue_order_email(conn, order.id, MessageKind.ORDER_REFUNDED)
    logger.warning("refunded the late payment of order %s (%s)", order.number, order.status)
    return refund_id
