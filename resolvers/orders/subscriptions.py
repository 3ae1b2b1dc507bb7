"""Live order status: orderStatusChanged for one order, myOrderUpdates for all of a user's orders.

The first event describes the latest status change as it stands when the subscription
starts (the subscription listens before it reads, so nothing falls between the two);
every later change follows in order, each delivered once.

A subscription opened with a login ends when that login is revoked (sign-out, or a refresh
token shown twice): the client gets an UNAUTHENTICATED error and `complete`, and no event after
the revocation. It registers with the hub before it looks the viewer up, so that a revocation
committed meanwhile cannot slip between the two.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, Hashable
from datetime import datetime
from typing import Any

import strawberry

from domain import order_reads as orders
from domain.access import may_read_order
from domain.auth import login_is_live
from domain.order_events import CatchUp, LoginRevoked, Subscriber, SubscriberDropped
from domain.order_reads import StatusChangeRow
from domain.orders import OrderStatus
from domain.rate_limits import address_key
from graph.auth import Viewer, login_of, require_viewer, viewer
from graph.context import Info
from graph.errors import PublicError, Unauthenticated
from graph.orders.types import Order
from graph.orders.types import OrderStatus as OrderStatusType
from graph.rate_limits import client_address
from graph.shared_events import event_key, share_base
from graph.websocket import shared_event_sender
from resolvers.orders.lookup import load_order

MAX_SUBSCRIPTIONS_PER_USER = 20


@strawberry.type
class OrderStatusEvent:
    order: Order
    from_: OrderStatusType | None = strawberry.field(name="from")  # type: ignore[valid-type]
    to: OrderStatusType  # type: ignore[valid-type]
    at: datetime
    # Subscribers with the same key get one execution of this event (graph.shared_events).
    share: strawberry.Private[tuple[Hashable, ...] | None] = None


# id(snapshot row) -> (row, its Order): every subscriber told of one change gets the same row
# (the hub reads it once) and, built once, the same Order (plain data, never changed).
_orders: OrderedDict[int, tuple[object, Order]] = OrderedDict()
ORDERS_KEPT = 256


def _order_of(row: Any) -> Order:
    kept = _orders.get(id(row))
    if kept is not None and kept[0] is row:
        return kept[1]
    order = Order.from_row(row)
    _orders[id(row)] = (row, order)
    while len(_orders) > ORDERS_KEPT:
        _orders.popitem(last=False)
    return order


# A status by its value, without Enum's call path (twice per subscriber and event).
_STATUSES: dict[str, OrderStatus] = {status.value: status for status in OrderStatus}


def _reader_scope(reader: Viewer | None) -> tuple[int, bool] | None:
    return (reader.id, reader.is_staff) if reader is not None else None


async def _event(info: Info, change: StatusChangeRow, share: tuple[Hashable, ...] | None) -> OrderStatusEvent:
    """The event of one change; `share`: the subscription's `share_base` (made once per subscription)."""
    context = info.context  # a property of strawberry's Info: read once per event, not three times
    # The connection's context outlives each event: nested fields (lines, history) are read anew.
    context.fresh_loaders()
    row = await context.order_events.order_snapshot(change.order_id, change.id, context.read_engine)
    return OrderStatusEvent(
        order=_order_of(row),
        from_=_STATUSES[change.from_status] if change.from_status else None,
        to=_STATUSES[change.to_status],
        at=change.at,
        share=event_key(share, change.order_id, change.id),
    )


async def _latest(info: Info, order_ids: list[int]) -> dict[int, StatusChangeRow]:
    if not order_ids:
        return {}
    async with info.context.read_engine.connect() as conn:
        return await orders.latest_change_of_orders(conn, order_ids)


async def _follow(
    info: Info, subscriber: Subscriber, seen: dict[int, int], share: tuple[Hashable, ...] | None
) -> AsyncGenerator[OrderStatusEvent, None]:
    """Events after those already seen (per order, by history id); on a catch-up, read the database.

    One generator from the subscriber's queue to the resolver (each layer of async generators is
    paid per event and per subscriber, ten thousand times for one order followed by ten thousand).

    Over WebSocket, an event whose shared execution another subscriber has already been sent as
    plain `data` is sent from here (graph.websocket's `SharedEventSender`: the same message, from
    this operation's own task) instead of being yielded through graphql-core and strawberry."""
    sender = shared_event_sender() if share is not None else None
    try:
        while True:
            item = await subscriber.next()
            if isinstance(item, CatchUp):
                await _login_still_live(info, subscriber)
                for change in await _missed(info, subscriber, seen):
                    if change.id <= seen.get(change.order_id, 0):
                        continue
                    seen[change.order_id] = change.id
                    event = await _event(info, change, share)
                    subscriber.check()  # nothing goes out once the login is revoked, even read before
                    yield event
                continue
            if item.change_id <= seen.get(item.order_id, 0):
                continue
            seen[item.order_id] = item.change_id
            if sender is not None:
                data = sender.built(event_key(share, item.order_id, item.change_id))
                if data is not None:
                    subscriber.check()
                    if not await sender.send(data):
                        return  # the client has gone: as after a failed send on strawberry's path
                    continue
            change = StatusChangeRow(
                id=item.change_id,
                order_id=item.order_id,
                from_status=item.from_status,
                to_status=item.to_status,
                at=item.at,
                reason=None,
                actor="",
            )
            event = await _event(info, change, share)
            subscriber.check()
            yield event
    except SubscriberDropped:
        raise PublicError(
            "This subscription fell too far behind and was ended; subscribe again to catch up.",
            code="SUBSCRIPTION_OVERFLOW",
        ) from None
    except LoginRevoked:
        raise _signed_out() from None


def _signed_out() -> Unauthenticated:
    return Unauthenticated("You were signed out, so this subscription has ended; sign in again to follow.")


def _start(subscriber: Subscriber, reader: Viewer | None, **follow: int | None) -> None:
    """Follow what was asked, tied to the reader's login (to none when the request is not signed in)."""
    if reader is None:
        subscriber.login_id = None
    subscriber.follow(**follow)


def _not_revoked(subscriber: Subscriber) -> None:
    if subscriber.revoked:
        raise _signed_out()


async def _login_still_live(info: Info, subscriber: Subscriber) -> None:
    """After notifications may have been missed, ask the database whether the login still stands
    (one read per login among the subscribers catching up together)."""
    user_id, login_id = subscriber.user_id, subscriber.login_id
    if login_id is None or user_id is None:
        return
    engine = info.context.read_engine

    async def read() -> bool:
        async with engine.connect() as conn:
            return await login_is_live(conn, user_id, login_id)

    if not await info.context.order_events.catch_up_read(("login", user_id, login_id), read):
        raise LoginRevoked


async def _missed(info: Info, subscriber: Subscriber, seen: dict[int, int]) -> list[StatusChangeRow]:
    """The changes a subscriber may have missed, in order. One read per order (after the same
    change) or per user, however many subscribers catch up together (the hub's `catch_up_read`)."""
    hub, engine = info.context.order_events, info.context.read_engine
    if subscriber.order_id is not None:
        order_id = subscriber.order_id
        after = seen.get(order_id, 0)

        async def read_order() -> list[StatusChangeRow]:
            async with engine.connect() as conn:
                return await orders.changes_after(conn, order_id, after)

        return await hub.catch_up_read(("order", order_id, after), read_order)
    assert subscriber.user_id is not None
    user_id = subscriber.user_id

    async def read_user() -> list[StatusChangeRow]:
        async with engine.connect() as conn:
            ids = await orders.order_ids_of_user(conn, user_id)
        return list((await _latest(info, ids)).values())

    latest = await hub.catch_up_read(("user", user_id), read_user)
    return sorted(
        (change for change in latest if change.id > seen.get(change.order_id, 0)),
        key=lambda change: change.id,
    )


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
        hub = info.context.order_events
        with hub.subscribe(login_id=login_of(info)) as subscriber:
            reader = await viewer(info)
            order = await load_order(info, order_id)
            if order is None or not may_read_order(
                order, reader, order_token, info.context.order_token_secret
            ):
                # The same answer whether the order exists or not.
                raise PublicError("There is no such order.", code="NOT_FOUND")
            # Guests (with the order token) count per client address, as signed-in users count per user.
            guest = address_key(client_address(info)) if reader is None else None
            subscriber.set_client(guest)
            _start(subscriber, reader, order_id=order.id, user_id=reader.id if reader else None)
            if reader is not None:
                _check_limit(hub.subscriptions_of_user(reader.id))
            else:
                _check_limit(hub.subscriptions_of_client(guest or ""), "client address")
            latest = (await _latest(info, [order.id])).get(order.id)
            seen: dict[int, int] = {}
            share = share_base(info, _reader_scope(reader))
            if latest is not None:
                seen[order.id] = latest.id
                first = await _event(info, latest, share)
                _not_revoked(subscriber)
                yield first
            async for event in _follow(info, subscriber, seen, share):
                yield event

    @strawberry.subscription(description="Status changes of every order of the signed-in user.")
    async def my_order_updates(self, info: Info) -> AsyncGenerator[OrderStatusEvent, None]:
        hub = info.context.order_events
        with hub.subscribe(login_id=login_of(info)) as subscriber:
            reader = await require_viewer(info)
            _start(subscriber, reader, user_id=reader.id)
            _check_limit(hub.subscriptions_of_user(reader.id))
            async with info.context.read_engine.connect() as conn:
                ids = await orders.order_ids_of_user(conn, reader.id)
            latest = await _latest(info, ids)
            seen = {order_id: change.id for order_id, change in latest.items()}
            share = share_base(info, _reader_scope(reader))
            if latest:
                newest = max(latest.values(), key=lambda change: change.id)
                first = await _event(info, newest, share)
                _not_revoked(subscriber)
                yield first
            async for event in _follow(info, subscriber, seen, share):
                yield event
