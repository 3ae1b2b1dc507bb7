"""A second look at payments whose webhook never came (a periodic task of the job worker).

Orders still awaiting payment `check_after` seconds after checkout have their Checkout Session
retrieved from the provider; a session that was paid (or expired) is applied as the event Stripe
would have sent, through the very same handler as the webhook (domain.payment_events: the same
dedup record, the same state machine). The event's id is derived from the session and outcome,
so two workers looking at once, or a look and the late webhook, apply it once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.payment_events import apply_payment_event
from domain.payments import PaymentProvider, PaymentProviderUnavailable
from models import order_repository as orders

logger = logging.getLogger(__name__)

BATCH = 100  # orders looked at per run; the next run takes the next ones


def event_type_for(session: dict[str, Any]) -> str | None:
    """The event Stripe sends for a session in this state; None while it is still open."""
    if session.get("status") == "complete":
        if session.get("payment_status") in ("paid", "no_payment_required"):
            return "checkout.session.completed"
        return None  # a delayed payment method: its outcome comes later
    if session.get("status") == "expired":
        return "checkout.session.expired"
    return None


async def recover_missed_payments(engine: AsyncEngine, payments: PaymentProvider, check_after: int) -> int:
    """Apply what the provider knows about stale unpaid orders; returns how many events were applied."""
    cutoff = datetime.now(UTC) - timedelta(seconds=check_after)
    async with engine.connect() as conn:
        stale = await orders.awaiting_payment_before(conn, cutoff, BATCH)
    applied = 0
    for session_id in stale:
        try:
            session = await payments.retrieve_checkout(session_id)  # outside any transaction
        except PaymentProviderUnavailable:
            logger.warning("could not ask the payment provider about a session; trying again later")
            return applied
        event_type = event_type_for(session)
        if event_type is None:
            continue
        event = {
            "id": f"recovered_{session_id}_{event_type.rsplit('.', 1)[-1]}",
            "object": "event",
            "type": event_type,
            "data": {"object": session},
        }
        outcome = await apply_payment_event(engine, event, payments)
        logger.warning("applied a missed %s found by asking the provider: %s", event_type, outcome)
        applied += 1
    return applied
