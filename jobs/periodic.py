"""Periodic tasks, each run once per schedule however many workers run (pgqueuer's schedules
table is claimed with FOR UPDATE SKIP LOCKED). Cron expressions take a sixth field, seconds."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from domain import rate_limits
from domain.order_actions import cancel_overdue_orders
from domain.payment_recovery import recover_missed_payments
from domain.retention import purge_anonymous_carts, purge_refresh_tokens
from jobs.tasks import Resources

logger = logging.getLogger(__name__)

_DIVISORS_OF_A_MINUTE = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)


def every_seconds(seconds: float) -> str:
    """A cron expression for "every `seconds`", rounded down to a divisor of a minute (1 to 60)."""
    if seconds >= 60:
        return f"*/{min(59, max(1, round(seconds / 60)))} * * * *"
    step = max(d for d in _DIVISORS_OF_A_MINUTE if d <= max(1.0, seconds))
    return f"* * * * * */{step}"


def expiry_interval(reservation_ttl: int) -> float:
    """How often to look for expired reservations: often enough to release stock promptly."""
    return min(30.0, max(1.0, reservation_ttl / 10))


Task = Callable[[], Awaitable[object]]


def schedule(resources: Resources) -> dict[str, tuple[str, Task]]:
    """Name -> (cron expression, task)."""
    settings = resources.settings
    engine = resources.engine

    async def expire_reservations() -> object:
        cancelled = await cancel_overdue_orders(engine, resources.payments)
        if cancelled:
            logger.info("cancelled %d order(s) whose reservation ran out", cancelled)
        return cancelled

    async def delete_ended_rate_limit_windows() -> object:
        return await rate_limits.delete_ended_windows(engine)

    async def purge_old_refresh_tokens() -> object:
        return await purge_refresh_tokens(engine, settings.refresh_token_retention)

    async def purge_old_anonymous_carts() -> object:
        return await purge_anonymous_carts(engine, settings.anonymous_cart_retention)

    async def check_unconfirmed_payments() -> object:
        return await recover_missed_payments(engine, resources.payments, settings.payment_check_after)

    return {
        "expire_reservations": (
            every_seconds(expiry_interval(settings.reservation_ttl)),
            expire_reservations,
        ),
        "delete_ended_rate_limit_windows": ("* * * * *", delete_ended_rate_limit_windows),
        "purge_refresh_tokens": ("17 * * * *", purge_old_refresh_tokens),
        "purge_anonymous_carts": ("43 * * * *", purge_old_anonymous_carts),
        "check_unconfirmed_payments": (
            every_seconds(settings.payment_check_interval),
            check_unconfirmed_payments,
        ),
    }
