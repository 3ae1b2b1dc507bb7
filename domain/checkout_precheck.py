"""Cheap losers: refuse a checkout whose lines are out of stock before it waits on any row lock.

When many buyers race for few units, every checkout would otherwise hold a database connection
while it queues on the variant's row lock, only to learn that nothing is left; the queue is
passed on one round trip at a time and starves the pool. Two things keep losers cheap:

1. **A lock-free read first.** One autocommit statement reads the cart's lines and their
   variants' `stock - reserved` as last committed. It can only err towards "available": a
   reservation being made concurrently is invisible to it, and the checkout goes on to the
   locked path, which decides (domain.checkout, models.inventory_repository.reserve). It
   refuses only what the locked path would refuse with the same answer (OUT_OF_STOCK, the same
   SKUs) and leaves everything else to it: a cart that is not active (a repeated checkout
   answers its order), an empty cart, lines over the size limits, products no longer for sale.
   A refusal is as true as the locked path's: during the request, that many units were not there.
2. **No more locked attempts than there are units, per process** (`turn`). Attempts whose
   units the last reading still covers beyond what this process's attempts in flight have
   claimed go on at once, together (they meet only at the variant's row lock). The others wait
   in this process, holding no connection and no lock, until an attempt ends; each attempt that
   ends reads the variants' availability once (lock-free) for everyone waiting. A waiter that a
   reading taken after its own shows short is refused with it, without another statement: the
   request's cart, as read at its start, was not covered at a moment during the request. Other
   processes and hosts still meet at the row lock, which alone decides; claims only ever make
   an attempt wait, never refuse it. An attempt that ends wakes the waiters only when what it
   leaves can change one's answer (the reading refuses one, or unclaimed units cover one, or
   nothing is in flight any more): with 200 buyers for 20 units, the 180 waiters wake once, at
   the reading that shows the units gone, not after each of the 20 attempts. An attempt that
   committed a reservation needs no reading (`Settled`): the units left that its reservation
   read under the row lock held from then until its commit, so they are a reading taken at a
   moment before the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import holding_limits, rate_limits
from domain.carts import could_be_cart_token
from domain.errors import CheckoutCode, Problem
from domain.holding_limits import HoldingLimits
from domain.rate_limits import Limited, Refusal
from models import stock_precheck_repository as availability


def out_of_stock(skus: list[str]) -> Problem:
    """The locked path's and the pre-check's one answer for lines that cannot be reserved."""
    return Problem(CheckoutCode.OUT_OF_STOCK, f"Not enough stock for {', '.join(skus)}.", ("cart_token",))


@dataclass(slots=True, frozen=True)
class Verdict:
    refused: Problem | None
    quantities: dict[int, int]  # units per variant; empty when the locked path must decide alone
    available: dict[int, int] = field(default_factory=dict)  # stock - reserved by the same read
    skus: tuple[tuple[int, str], ...] = ()  # the lines' variants and SKUs, in the cart's order


async def precheck(
    engine: AsyncEngine, limits: HoldingLimits, *, cart_token: str | None, user_id: int | None
) -> Verdict:
    """OUT_OF_STOCK when the committed stock cannot cover the cart; else what the cart wants."""
    async with engine.connect() as conn:  # one autocommit statement (models.compiled)
        lines = await availability.active_cart_availability(conn, token=cart_token, user_id=user_id)
    return _verdict(limits, lines)


@dataclass(slots=True, frozen=True)
class FirstLook:
    """A checkout's first statement: its rate-limit count and the pre-check's read, together."""

    refusal: Refusal | None  # the rate limit's: answer it and stop
    verdict: Verdict
    began: int  # a `_clock` tick taken before the read (`turn`)


async def first_look(
    engine: AsyncEngine,
    limits: HoldingLimits,
    attempts: list[Limited],
    *,
    cart_token: str | None,
    user_id: int | None,
) -> FirstLook:
    """Count the checkout attempt (domain.rate_limits) and take the pre-check's lock-free read in
    one statement: a sold-out attempt costs one round trip to the database, not two. The count
    is made whatever the read finds; a refused attempt's reading is simply not used. A token
    that cannot be one of ours (checkout refuses it before its pre-check) reads no cart."""
    if cart_token is not None and not could_be_cart_token(cart_token):
        cart_token, user_id = None, None
    began = next(_clock)
    counting = rate_limits.tally(attempts)
    async with engine.connect() as conn:  # one statement, its own transaction
        counts, lines = await availability.counted_cart_availability(
            conn, counting.rows, token=cart_token, user_id=user_id
        )
    return FirstLook(counting.refusal(counts), _verdict(limits, lines), began)


def _verdict(limits: HoldingLimits, lines: list[availability.AvailabilityLine]) -> Verdict:
    if not lines or not all(line.product_active for line in lines):
        return Verdict(None, {})
    wanted = [holding_limits.Wanted(line.variant_id, line.sku, line.quantity) for line in lines]
    if holding_limits.size_problems(limits, wanted):
        return Verdict(None, {})
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
    available = {line.variant_id: line.available for line in lines}
    short = _short(quantities, available)
    skus = tuple((line.variant_id, line.sku) for line in lines)
    return Verdict(_refusal(short, skus) if short else None, quantities, available, skus)


def _short(quantities: dict[int, int], available: dict[int, int]) -> list[int]:
    return [variant for variant, quantity in quantities.items() if available[variant] < quantity]


def _refusal(short: list[int], skus: tuple[tuple[int, str], ...]) -> Problem:
    return out_of_stock([sku for variant, sku in skus if variant in short])


@dataclass(slots=True, eq=False)
class _Gate:
    """One variant's locked attempts in this process: the units they claim, and what the last one left."""

    claimed: int = 0  # units of this process's locked attempts in flight
    running: int = 0  # those attempts
    waiting: int = 0
    available: int | None = None  # stock - reserved, read after the latest attempt ended
    read_at: int = 0  # when that read began (a `_clock` tick)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    wants: Counter[int] = field(default_factory=Counter)  # the waiters' units of this variant
    newest_waiter: int = 0  # the latest `_clock` tick a waiter began at (never lowered)

    def news_for_waiters(self) -> bool:
        """Whether the state after an attempt ended can change a waiter's answer: a reading that
        refuses one, unclaimed units that cover one, no attempt in flight, or a waiter whose own
        reading is newer than the gate's (it decides by that one)."""
        if not self.wants or not self.running or self.available is None or self.read_at < self.newest_waiter:
            return True
        return self.available < max(self.wants) or self.available - self.claimed >= min(self.wants)


@dataclass(slots=True)
class Settled:
    """What a locked attempt's committed reservation left: its stock figures stand in for a read.

    `stamp()` while the reservation's row locks are still held (after the reservation, before the
    commit); `commit(left)` once the transaction committed. Nothing recorded: the attempt reads."""

    left: dict[int, int] = field(default_factory=dict)
    at: int = 0
    _stamped: int = 0

    def stamp(self) -> None:
        self._stamped = next(_clock)

    def commit(self, left: dict[int, int]) -> None:
        if self._stamped:
            self.left, self.at = dict(left), self._stamped


# Orders reads in this process: a reading is newer than a request's own when it began after it.
_clock = itertools.count(1)

# The gates of each database this process serves (one per application), by variant id.
_registries: weakref.WeakKeyDictionary[Engine, dict[int, _Gate]] = weakref.WeakKeyDictionary()


def _gates_of(engine: AsyncEngine) -> dict[int, _Gate]:
    gates = _registries.get(engine.sync_engine)
    if gates is None:
        gates = _registries[engine.sync_engine] = {}
    return gates


def _forget_idle(gates: dict[int, _Gate], variant_ids: list[int]) -> None:
    for variant_id in variant_ids:
        gate = gates.get(variant_id)
        if gate is not None and not gate.running and not gate.waiting:
            del gates[variant_id]


@contextlib.asynccontextmanager
async def turn(
    engine: AsyncEngine,
    limits: HoldingLimits,
    *,
    cart_token: str | None,
    user_id: int | None,
    settled: Settled | None = None,
    look: FirstLook | None = None,
) -> AsyncIterator[Problem | None]:
    """Yields OUT_OF_STOCK (refused without a lock), or None: the locked attempt may run now
    (and records in `settled` what its committed reservation left, if it made one).

    `look`: the request's `first_look` of this cart, which stands in for the pre-check's read."""
    if look is not None:
        began, verdict = look.began, look.verdict
    else:
        began = next(_clock)
        verdict = await precheck(engine, limits, cart_token=cart_token, user_id=user_id)
    if verdict.refused is not None or not verdict.quantities:
        yield verdict.refused
        return
    wanted = verdict.quantities
    ids = sorted(wanted)
    registry = _gates_of(engine)
    gates = [registry.setdefault(variant_id, _Gate()) for variant_id in ids]
    known = dict(verdict.available)  # the latest reading this request may rely on
    seen = [began] * len(ids)  # when the reading in `known` began, per variant
    refused: Problem | None = None
    for variant_id, gate in zip(ids, gates, strict=True):
        gate.waiting += 1
        gate.wants[wanted[variant_id]] += 1
        gate.newest_waiter = max(gate.newest_waiter, began)
    try:
        while True:
            for index, (variant_id, gate) in enumerate(zip(ids, gates, strict=True)):
                if gate.read_at > seen[index] and gate.available is not None:
                    known[variant_id], seen[index] = gate.available, gate.read_at
            if short := _short(wanted, known):
                refused = _refusal(short, verdict.skus)
                break
            crowded = [
                gate for variant_id, gate in zip(ids, gates, strict=True)
                if gate.claimed and known[variant_id] - gate.claimed < wanted[variant_id]
            ]  # fmt: skip
            if not crowded:
                break
            await crowded[0].finished.wait()
    finally:
        for variant_id, gate in zip(ids, gates, strict=True):
            gate.waiting -= 1
            gate.wants[wanted[variant_id]] -= 1
            if not gate.wants[wanted[variant_id]]:
                del gate.wants[wanted[variant_id]]
    if refused is not None:
        _forget_idle(registry, ids)
        yield refused
        return
    for variant_id, gate in zip(ids, gates, strict=True):
        gate.claimed += wanted[variant_id]
        gate.running += 1
    try:
        yield None
    finally:
        try:
            await _after_attempt(engine, ids, gates, wanted, settled)
        finally:
            _forget_idle(registry, ids)


async def _after_attempt(
    engine: AsyncEngine, ids: list[int], gates: list[_Gate], wanted: dict[int, int], settled: Settled | None
) -> None:
    """Tell the waiters what the attempt left (when anyone waits), then let them look again."""
    left: dict[int, int] = {}
    read_at = next(_clock)
    if settled is not None and settled.at and all(variant_id in settled.left for variant_id in ids):
        left, read_at = {variant_id: settled.left[variant_id] for variant_id in ids}, settled.at
    try:
        if not left and any(gate.waiting for gate in gates):
            async with engine.connect() as conn:
                left = await availability.available(conn, ids)
    finally:
        for variant_id, gate in zip(ids, gates, strict=True):
            gate.claimed -= wanted[variant_id]
            gate.running -= 1
            if variant_id in left and read_at > gate.read_at:  # a slower, older read must not win
                gate.available, gate.read_at = left[variant_id], read_at
            if variant_id not in left or gate.news_for_waiters():
                gate.finished.set()
                gate.finished = asyncio.Event()
