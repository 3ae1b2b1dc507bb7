"""A subscriber's inbox (domain.order_events.Subscriber): events in order, the reader woken by an
offer or a revocation, and a subscriber that falls SUBSCRIBER_BUFFER events behind dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from domain.order_events import (
    CATCH_UP,
    SUBSCRIBER_BUFFER,
    LoginRevoked,
    StatusEvent,
    Subscriber,
    SubscriberDropped,
)


def _event(change_id: int) -> StatusEvent:
    return StatusEvent(
        order_id=1,
        user_id=None,
        change_id=change_id,
        from_status="UNFULFILLED",
        to_status="PAID",
        at=datetime.now(UTC),
    )


async def test_events_arrive_in_order_and_wake_a_waiting_reader() -> None:
    subscriber = Subscriber(order_id=1)
    waiting = asyncio.ensure_future(subscriber.next())
    await asyncio.sleep(0)
    assert not waiting.done()
    subscriber.offer(_event(1))
    subscriber.offer(_event(2))
    assert (await waiting).change_id == 1
    assert (await subscriber.next()).change_id == 2
    assert subscriber.waiter is None


async def test_a_reader_cancelled_while_waiting_leaves_no_waiter_behind() -> None:
    subscriber = Subscriber(order_id=1)
    waiting = asyncio.ensure_future(subscriber.next())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert subscriber.waiter is None
    subscriber.offer(_event(3))
    assert (await subscriber.next()).change_id == 3


async def test_a_subscriber_too_far_behind_is_dropped() -> None:
    subscriber = Subscriber(order_id=1)
    for change_id in range(1, SUBSCRIBER_BUFFER + 2):
        subscriber.offer(_event(change_id))
    assert subscriber.dropped and len(subscriber.inbox) == SUBSCRIBER_BUFFER
    assert subscriber.inbox[-1] is CATCH_UP
    with pytest.raises(SubscriberDropped):
        await subscriber.next()


async def test_a_revocation_wakes_the_waiting_reader_even_with_a_full_inbox() -> None:
    subscriber = Subscriber(order_id=1)
    waiting = asyncio.ensure_future(subscriber.next())
    await asyncio.sleep(0)
    subscriber.revoke()
    with pytest.raises(LoginRevoked):
        await waiting
    full = Subscriber(order_id=1)
    for change_id in range(1, SUBSCRIBER_BUFFER + 1):
        full.offer(_event(change_id))
    full.revoke()
    assert len(full.inbox) == SUBSCRIBER_BUFFER
    with pytest.raises(LoginRevoked):
        await full.next()
