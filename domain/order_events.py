"""Order status changes heard from PostgreSQL and fanned out to this process's subscribers.

Each change is published with pg_notify inside the transaction that makes it, so LISTEN
hears exactly the committed changes, from every server process. One process holds one
LISTEN connection; each subscriber has a bounded queue, and one that falls too far behind
is dropped rather than slowing the others. When the LISTEN connection is lost, the hub
reconnects with backoff and tells every subscriber to catch up from the database; subscribers
that catch up alike (the same order after the same change) share one read (`catch_up_read`).

The same connection hears revoked logins: a subscriber opened with a login that is revoked
is told so, ahead of any event still queued for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.runtime import without_collections_until_woken
from models import order_repository
from models.account_repository import LOGIN_REVOKED_CHANNEL
from models.order_repository import STATUS_CHANNEL, OrderRow

logger = logging.getLogger(__name__)

CHANNEL = STATUS_CHANNEL
SUBSCRIBER_BUFFER = 64
HEALTH_CHECK_INTERVAL = 5.0
# How long the health check's `SELECT 1` may take. Generous: a process busy delivering to
# thousands of subscribers must not mistake its own slowness for a lost connection (that would
# send every subscriber to catch up from the database at the worst moment).
HEALTH_CHECK_TIMEOUT = 20.0
MAX_BACKOFF = 5.0
SNAPSHOT_CACHE_SIZE = 512
CATCH_UP_CACHE_SIZE = 4096
# An event for at least this many subscribers holds the garbage collector until they have been
# woken and have sent it (core.runtime); below, a collection amid the delivery costs little.
HOLD_COLLECTIONS_FROM = 100

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class StatusEvent:
    order_id: int
    user_id: int | None
    change_id: int
    from_status: str | None
    to_status: str
    at: datetime


class CatchUp:
    """Marker: notifications may have been missed; read what changed from the database."""


CATCH_UP = CatchUp()


class SubscriberDropped(Exception):
    """The subscriber did not keep up with its events and was dropped."""


class LoginRevoked(Exception):
    """The login the subscriber was opened with has been revoked."""


@dataclass(eq=False)
class Subscriber:
    order_id: int | None = None
    user_id: int | None = None
    # The login (refresh-token family) of the signed-in subscriber, whose revocation ends it.
    login_id: uuid.UUID | None = None
    client: str | None = None  # the client address of a guest (subscribed with an order token)
    # What is waiting for the reader (at most SUBSCRIBER_BUFFER), and the reader's wake-up while it
    # waits: asyncio.Queue's bookkeeping (putters, unfinished tasks, its `empty` and `full` calls)
    # was paid per subscriber and event, ten thousand times for one order followed by ten thousand.
    inbox: deque[StatusEvent | CatchUp] = field(default_factory=deque, repr=False)
    waiter: asyncio.Future[None] | None = field(default=None, repr=False)
    dropped: bool = False
    revoked: bool = False
    # The hub whose indexes (by order, user and client) follow this subscriber's changes.
    hub: OrderEventHub | None = field(default=None, repr=False)

    def follow(self, *, order_id: int | None = None, user_id: int | None = None) -> None:
        """Start receiving the events of one order, or of every order of a user."""
        self._reindexed(order_id=order_id, user_id=user_id, client=self.client)

    def set_client(self, client: str | None) -> None:
        self._reindexed(order_id=self.order_id, user_id=self.user_id, client=client)

    def _reindexed(self, *, order_id: int | None, user_id: int | None, client: str | None) -> None:
        if self.hub is not None:
            self.hub._unindex(self)
        self.order_id, self.user_id, self.client = order_id, user_id, client
        if self.hub is not None:
            self.hub._index(self)

    def revoke(self) -> None:
        self.revoked = True
        if len(self.inbox) < SUBSCRIBER_BUFFER:  # a full inbox wakes the reader anyway
            self.inbox.append(CATCH_UP)
        self._wake()

    def check(self) -> None:
        """Raise when the subscriber must end: its login was revoked, or it fell behind."""
        if self.revoked:
            raise LoginRevoked
        if self.dropped:
            raise SubscriberDropped

    def wants(self, event: StatusEvent) -> bool:
        if self.order_id is not None:
            return event.order_id == self.order_id
        return self.user_id is not None and event.user_id == self.user_id

    def offer(self, item: StatusEvent | CatchUp) -> None:
        if self.dropped:
            return
        inbox = self.inbox
        if len(inbox) < SUBSCRIBER_BUFFER:
            inbox.append(item)
        else:
            self.dropped = True
            # Make room for the marker that wakes the reader up to find it was dropped.
            inbox.popleft()
            inbox.append(CATCH_UP)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def events(self) -> AsyncIterator[StatusEvent | CatchUp]:
        while True:
            yield await self.next()

    async def next(self) -> StatusEvent | CatchUp:
        """The next event or catch-up marker; raises when the subscriber must end (`check`)."""
        inbox = self.inbox
        while not inbox:
            waiter = self.waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self.waiter = None
        item = inbox.popleft()
        self.check()
        return item


class OrderEventHub:
    def __init__(self, database_url: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._snapshots: OrderedDict[tuple[int, int], asyncio.Future[OrderRow]] = OrderedDict()
        self._channels: dict[str, Callable[[str], None]] = {}
        self._connection_watchers: list[Callable[[bool], None]] = []
        self._catch_ups: OrderedDict[tuple[Hashable, ...], asyncio.Future[Any]] = OrderedDict()
        # Indexes, so that neither an event nor a new subscription scans every subscriber.
        self._by_order: dict[int, set[Subscriber]] = {}
        self._by_user: dict[int, set[Subscriber]] = {}  # those following every order of a user
        self._per_user: Counter[int] = Counter()
        self._per_client: Counter[str] = Counter()
        self._read_engine: AsyncEngine | None = None
        self._delivering: asyncio.Task[None] | None = None  # the latest event's delivery
        self.connected = asyncio.Event()
        # How many times LISTEN was restored (each restore tells every subscriber to catch up).
        self.restored = 0

    def also_listen(
        self, channel: str, on_notify: Callable[[str], None], on_connection: Callable[[bool], None]
    ) -> None:
        """Share this process's LISTEN connection with another channel (before `start`);
        `on_notify` is given each notification's payload.

        `on_connection(False)` is called when notifications may be missed, `True` once they flow again.
        """
        self._channels[channel] = on_notify
        self._connection_watchers.append(on_connection)

    def _connection_changed(self, up: bool) -> None:
        for watcher in self._connection_watchers:
            watcher(up)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscriptions_of_user(self, user_id: int) -> int:
        return self._per_user[user_id]

    def subscriptions_of_client(self, client: str) -> int:
        return self._per_client[client]

    def read_with(self, engine: AsyncEngine) -> None:
        """Read an event's order once with this engine before waking its subscribers (without it,
        subscribers are woken at once and the first to ask reads it)."""
        self._read_engine = engine

    def _index(self, subscriber: Subscriber) -> None:
        if subscriber.order_id is not None:
            self._by_order.setdefault(subscriber.order_id, set()).add(subscriber)
        elif subscriber.user_id is not None:
            self._by_user.setdefault(subscriber.user_id, set()).add(subscriber)
        if subscriber.user_id is not None:
            self._per_user[subscriber.user_id] += 1
        if subscriber.client is not None:
            self._per_client[subscriber.client] += 1

    def _unindex(self, subscriber: Subscriber) -> None:
        for index, key in ((self._by_order, subscriber.order_id), (self._by_user, subscriber.user_id)):
            if key is not None and (followers := index.get(key)) is not None:
                followers.discard(subscriber)
                if not followers:
                    del index[key]
        for counts, counted in ((self._per_user, subscriber.user_id), (self._per_client, subscriber.client)):
            if counted is not None:
                counts[counted] -= 1
                if counts[counted] <= 0:
                    del counts[counted]

    async def order_snapshot(self, order_id: int, change_id: int, engine: AsyncEngine) -> OrderRow:
        """The order as of a change, read once however many subscribers are told of that change."""
        key = (order_id, change_id)
        pending = self._snapshot(order_id, change_id, engine)
        if pending.done() and not pending.cancelled() and pending.exception() is None:
            return pending.result()  # the usual case: read before the subscribers were woken
        try:
            return await asyncio.shield(pending)
        except Exception:
            self._snapshots.pop(key, None)
            raise

    async def catch_up_read(self, key: tuple[Hashable, ...], read: Callable[[], Awaitable[T]]) -> T:
        """The answer of `read` for every subscriber catching up with the same `key` since LISTEN
        was last restored: one database read, however many subscribers follow the order.

        Sound because a subscriber catches up only after a restore it was subscribed through: the
        shared read started after that restore, and whatever was committed after it reached the
        subscriber's own queue as a notification (its history ids drop the overlap). A later
        restore starts new reads. A failed read is not kept: the next subscriber reads again.
        """
        key = (self.restored, *key)
        pending = self._catch_ups.get(key)
        if pending is None:
            pending = asyncio.ensure_future(read())
            self._catch_ups[key] = pending
            while len(self._catch_ups) > CATCH_UP_CACHE_SIZE:
                self._catch_ups.popitem(last=False)
        try:
            return await asyncio.shield(pending)
        except Exception:
            if self._catch_ups.get(key) is pending:
                del self._catch_ups[key]
            raise

    def _snapshot(self, order_id: int, change_id: int, engine: AsyncEngine) -> asyncio.Future[OrderRow]:
        key = (order_id, change_id)
        pending = self._snapshots.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read_order(order_id, engine))
            self._snapshots[key] = pending
            while len(self._snapshots) > SNAPSHOT_CACHE_SIZE:
                self._snapshots.popitem(last=False)
        return pending

    @staticmethod
    async def _read_order(order_id: int, engine: AsyncEngine) -> OrderRow:
        async with engine.connect() as conn:
            return (await order_repository.orders_by_ids(conn, [order_id]))[order_id]

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="order-event-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    @contextlib.contextmanager
    def subscribe(
        self,
        *,
        order_id: int | None = None,
        user_id: int | None = None,
        login_id: uuid.UUID | None = None,
        client: str | None = None,
    ) -> Iterator[Subscriber]:
        subscriber = Subscriber(order_id=order_id, user_id=user_id, login_id=login_id, client=client)
        self._subscribers.add(subscriber)
        self._index(subscriber)
        subscriber.hub = self
        try:
            yield subscriber
        finally:
            subscriber.hub = None
            self._unindex(subscriber)
            self._subscribers.discard(subscriber)

    def _dispatch(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            raw = orjson.loads(payload)
            event = StatusEvent(
                order_id=int(raw["order_id"]),
                user_id=raw.get("user_id"),
                change_id=int(raw["change_id"]),
                from_status=raw.get("from"),
                to_status=raw["to"],
                # In UTC, as the history's rows read: PostgreSQL writes the payload's time in the
                # session's time zone (models.order_repository._with_change).
                at=datetime.fromisoformat(raw["at"]).astimezone(UTC),
            )
        except (ValueError, KeyError, TypeError):
            logger.error("ignored a malformed order status notification")
            return
        followers = list(self._by_order.get(event.order_id, ()))
        if event.user_id is not None:
            followers += self._by_user.get(event.user_id, ())
        if not followers:
            return
        if self._read_engine is None:
            self._offer(event, followers)
            return
        # Read the order as of this change once, then wake its subscribers: none of them waits
        # on the read. Deliveries keep the order in which the changes were heard.
        snapshot = self._snapshot(event.order_id, event.change_id, self._read_engine)
        self._delivering = asyncio.ensure_future(self._deliver(event, followers, snapshot, self._delivering))

    async def _deliver(
        self,
        event: StatusEvent,
        followers: list[Subscriber],
        snapshot: asyncio.Future[OrderRow],
        previous: asyncio.Task[None] | None,
    ) -> None:
        # A failed read is not this task's to report: a subscriber that asks reads again.
        await asyncio.wait([snapshot])
        if previous is not None:
            await asyncio.wait([previous])
        if len(followers) >= HOLD_COLLECTIONS_FROM:
            # The woken subscribers send within the loop's next pass: no full collection amid it.
            without_collections_until_woken(asyncio.get_running_loop(), lambda: self._offer(event, followers))
        else:
            self._offer(event, followers)

    def _offer(self, event: StatusEvent, followers: list[Subscriber]) -> None:
        for subscriber in followers:
            if subscriber.hub is self and subscriber.wants(event):
                subscriber.offer(event)

    def _dispatch_revocation(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            login_id = uuid.UUID(payload)
        except ValueError:
            logger.error("ignored a malformed login revocation notification")
            return
        for subscriber in list(self._subscribers):
            if subscriber.login_id == login_id:
                subscriber.revoke()

    async def _listen_forever(self) -> None:
        backoff = 0.1
        first = True
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn, timeout=10)
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._dispatch)
                await connection.add_listener(LOGIN_REVOKED_CHANNEL, self._dispatch_revocation)
                for channel, on_notify in self._channels.items():
                    # asyncpg calls a listener with (connection, pid, channel, payload).
                    await connection.add_listener(channel, lambda *args, notify=on_notify: notify(args[3]))
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                logger.warning(
                    "order events: cannot LISTEN (%s); retrying in %.1fs", type(error).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            self._connection = connection
            self.connected.set()
            self._connection_changed(True)
            backoff = 0.1
            if not first:
                logger.info("order events: LISTEN restored; subscribers catch up")
                self.restored += 1
                self._catch_ups.clear()
                for subscriber in list(self._subscribers):
                    subscriber.offer(CATCH_UP)
            first = False
            await self._watch(connection, lost)
            self.connected.clear()
            self._connection_changed(False)
            with contextlib.suppress(Exception):
                connection.terminate()

    @staticmethod
    async def _watch(connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is gone; a periodic query also catches a silent network drop."""
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), HEALTH_CHECK_INTERVAL)
            if lost.is_set() or connection.is_closed():
                return
            try:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), HEALTH_CHECK_TIMEOUT)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                logger.warning("order events: LISTEN connection lost")
                return
