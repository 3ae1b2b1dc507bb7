"""Live order status: orderStatusChanged for one order, myOrderUpdates for all of a user's orders.

The first event describes the latest status change as it stands when the subscription
starts (the subscription listens before it reads, so nothing falls between the two);
every later change follows in order, each delivered once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from core.order_events import CatchUp, Subscriber, SubscriberDropped
from domain.orders import OrderStatus
from domain.rate_limits import address_key
from graph.auth import require_viewer, viewer
from graph.context import Info
from graph.errors import PublicError
from graph.rate_limits import client_address
from graph.types.orders import Order
from graph.types.orders import OrderStatus as OrderStatusType
from models import order_repository as orders
from models.order_repository import StatusChangeRow
from resolvers.orders import load_order, may_read

MAX_SUBSCRIPTIONS_PER_USER = 20


@strawberry.type
class OrderStatusEvent:
    order: Order
    from_: OrderStatusType | None = strawberry.field(name="from")  # type: ignore[valid-type]
    to: OrderStatusType  # type: ignore[valid-type]
    at: datetime


async def _event(info: Info, change: StatusChangeRow) -> OrderStatusEvent:
    row = await info.context.order_events.order_snapshot(change.order_id, change.id, info.context.read_engine)
    return OrderStatusEvent(
        order=Order.from_row(row),
        from_=OrderStatus(change.from_status) if change.from_status else None,
        to=OrderStatus(change.to_status),
        at=change.at,
    )


async def _latest(info: Info, order_ids: list[int]) -> dict[int, StatusChangeRow]:
    if not order_ids:
        return {}
    async with info.context.read_engine.connect() as conn:
        return await orders.latest_change_of_orders(conn, order_ids)


async def _follow(
    info: Info, subscriber: Subscriber, seen: dict[int, int]
) -> AsyncGenerator[OrderStatusEvent, None]:
    """Events after those already seen (per order, by history id); on a catch-up, read the database."""
    try:
        async for event in _follow_events(info, subscriber, seen):
            yield event
    except SubscriberDropped:
        raise PublicError(
            "This subscription fell too far behind and was ended; subscribe again to catch up.",
            code="SUBSCRIPTION_OVERFLOW",
        ) from None


async def _follow_events(
    info: Info, subscriber: Subscriber, seen: dict[int, int]
) -> AsyncGenerator[OrderStatusEvent, None]:
    async for item in subscriber.events():
        if isinstance(item, CatchUp):
            if subscriber.order_id is not None:
                async with info.context.read_engine.connect() as conn:
                    missed = await orders.changes_after(
                        conn, subscriber.order_id, seen.get(subscriber.order_id, 0)
                    )
            else:
                assert subscriber.user_id is not None
                async with info.context.read_engine.connect() as conn:
                    ids = await orders.order_ids_of_user(conn, subscriber.user_id)
                latest = await _latest(info, ids)
                missed = sorted(
                    (change for change in latest.values() if change.id > seen.get(change.order_id, 0)),
                    key=lambda change: change.id,
                )
            for change in missed:
                seen[change.order_id] = change.id
                yield await _event(info, change)
            continue
        if item.change_id <= seen.get(item.order_id, 0):
            continue
        seen[item.order_id] = item.change_id
        change = StatusChangeRow(
            id=item.change_id,
            order_id=item.order_id,
            from_status=item.from_status,
            to_status=item.to_status,
            at=item.at,
            reason=None,
            actor="",
        )
        yield await _event(info, change)


def _check_limit(active: int, per: str = "user") -> None:
    if active > MAX_SUBSCRIPTIONS_PER_USER:
        raise PublicError(
            f"At most {MAX_SUBSCRIPTIONS_PER_USER} live subscriptions per {per}.",
            code="TOO_MANY_SUBSCRIPTIONS",
        )


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(
        description="Status changes of one order, for its owner, staff, or the holder of its orderToken."
    )
    async def order_status_changed(
        self, info: Info, order_id: strawberry.ID, order_token: str | None = None
    ) -> AsyncGenerator[OrderStatusEvent, None]:
        reader = await viewer(info)
        order = await load_order(info, order_id)
        if order is None or not may_read(order, reader, order_token, info.context.order_token_secret):
            # The same answer whether the order exists or not.
            raise PublicError("There is no such order.", code="NOT_FOUND")
        hub = info.context.order_events
        # Guests (with the order token) count per client address, as signed-in users count per user.
        guest = address_key(client_address(info)) if reader is None else None
        user_id = reader.id if reader else None
        with hub.subscribe(order_id=order.id, user_id=user_id, client=guest) as subscriber:
            if reader is not None:
                _check_limit(hub.subscriptions_of_user(reader.id))
            else:
                _check_limit(hub.subscriptions_of_client(guest or ""), "client address")
            latest = (await _latest(info, [order.id])).get(order.id)
            seen: dict[int, int] = {}
            if latest is not None:
                seen[order.id] = latest.id
                yield await _event(info, latest)
            async for event in _follow(info, subscriber, seen):
                yield event

    @strawberry.subscription(description="Status changes of every order of the signed-in user.")
    async def my_order_updates(self, info: Info) -> AsyncGenerator[OrderStatusEvent, None]:
        reader = await require_viewer(info)
        hub = info.context.order_events
        with hub.subscribe(user_id=reader.id) as subscriber:
            _check_limit(hub.subscriptions_of_user(reader.id))
            async with info.context.read_engine.connect() as conn:
                ids = await orders.order_ids_of_user(conn, reader.id)
            latest = await _latest(info, ids)
            seen = {order_id: change.id for order_id, change in latest.items()}
            if latest:
                newest = max(latest.values(), key=lambda change: change.id)
                yield await _event(info, newest)
            async for event in _follow(info, subscriber, seen):
                yield event
