"""Subscription fan-out: execute an event's selection once for every subscriber that would get
the same answer, and hand that one result to each of them.

graphql-core executes a subscription's selection anew for every subscriber and every event.
When a thousand shoppers follow one order with the same query, those executions are identical:
same document, same variables, same event, same reader. An event that says so (its `share`
key, set by the subscription resolver after it has authorised the subscriber) is executed once;
the other subscribers with that key, within SHARE_SECONDS, get the same result (awaiting it
while it runs). Everything per subscriber stays per subscriber: the subscription's own
authorisation, its revocation checks, its queue and its delivery.

The key must name everything the answer depends on: the application (its event hub, so two
applications on two databases in one process never share), the parsed operation (held in the key, so
its identity cannot be reused), the variables, the reader (user id and staff flag, or none: a
guest is authorised by the orderToken among the variables), and the event (order and change).
Results are kept only for a moment and for a bounded number of keys: a later event has a key
of its own and is read anew (fresh loaders per event, as before).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson

from graph.execution import PlainFieldsExecutionContext
from graph.library_internals import graphql_core_info

SHARE_SECONDS = 5.0
MAX_SHARED = 1024

_results: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()


def share_key(info: Any, reader: tuple[int, bool] | None, *event: Hashable) -> tuple[Hashable, ...] | None:
    """The key under which subscribers that would get the same answer to this event share it."""
    return event_key(share_base(info, reader), *event)


def share_base(info: Any, reader: tuple[int, bool] | None) -> tuple[Hashable, ...] | None:
    """What a subscription's share keys have in common (its operation, variables and reader):
    made once per subscription, each event's key adds the event (`event_key`)."""
    try:
        variables = orjson.dumps(info.variable_values or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    # The process's event hub stands for the database the event came from (one per application).
    return (info.context.order_events, _Same(graphql_core_info(info).operation), variables, reader)


def event_key(base: tuple[Hashable, ...] | None, *event: Hashable) -> tuple[Hashable, ...] | None:
    """The share key of one event for a subscription whose `share_base` is `base`."""
    return None if base is None else (*base, *event)


class _Same:
    """An object compared and hashed by identity: a parsed operation is hashed field by field
    (its whole tree) otherwise, once per subscriber and event. Strawberry parses a query text
    once (cached), so the subscribers with the same query hold the same operation."""

    __slots__ = ("held",)

    def __init__(self, held: object) -> None:
        self.held = held

    def __hash__(self) -> int:
        return id(self.held)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.held is self.held


def _remember(key: Hashable, value: Any) -> None:
    _results[key] = (time.monotonic(), value)
    _results.move_to_end(key)
    while len(_results) > MAX_SHARED:
        _results.popitem(last=False)


def _recalled(key: Hashable) -> Any | None:
    entry = _results.get(key)
    if entry is None:
        return None
    if time.monotonic() - entry[0] > SHARE_SECONDS:
        del _results[key]
        return None
    return entry[1]


def shared_data(key: Hashable | None) -> Any | None:
    """The `data` of an event's finished execution shared under `key`, when it has no errors (what
    every subscriber with that key is sent is then `{"data": <it>}`); None while it runs, after it
    failed or expired, or when there is none."""
    if key is None:
        return None
    result = _recalled(key)
    if result is None or isinstance(result, asyncio.Future) or result.errors:
        return None
    return result.data


class SharedEventsExecutionContext(PlainFieldsExecutionContext):
    """graph.execution's executor, sharing the execution of subscription events that carry a key."""

    def __copy__(self) -> SharedEventsExecutionContext:
        """What `copy.copy` makes of it by default (a new instance holding the same attributes),
        without its generic path (`__reduce_ex__`, `copyreg`, `copy._reconstruct`): graphql-core
        copies the subscription's executor for every event (`build_per_event_executor`), once per
        subscriber and event, ten thousand times for one order followed by ten thousand."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = getattr(self.root_value, "share", None)
        if key is None:
            return super().execute_operation(serially)
        shared = _recalled(key)
        if shared is not None:
            return _await_shared(shared) if isinstance(shared, asyncio.Future) else shared
        result = super().execute_operation(serially)
        if not self.is_awaitable(result):
            _remember(key, result)
            return result
        running = asyncio.ensure_future(result)
        _remember(key, running)
        running.add_done_callback(lambda done: _settled(key, done))
        return _await_shared(running)


def _settled(key: Hashable, done: asyncio.Future[Any]) -> None:
    """Keep the finished result for those still to come; forget a failed execution."""
    entry = _results.get(key)
    if entry is None or entry[1] is not done:
        return
    if done.cancelled() or done.exception() is not None:
        del _results[key]
    else:
        _results[key] = (entry[0], done.result())


async def _await_shared(running: asyncio.Future[Any]) -> Any:
    # shield: a subscriber that goes away must not cancel the execution the others await.
    return await asyncio.shield(running)
