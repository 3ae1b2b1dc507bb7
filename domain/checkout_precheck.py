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
2. **One locked attempt per variant at a time, per process** (`turn`). Further checkouts of a
   variant that is being reserved wait in this process, holding no connection and no lock. Each
   attempt that ends reads the variants' availability once (lock-free) for everyone waiting;
   a waiter that this reading shows short confirms it with its own lock-free read (cart and
   stock at one moment) and is refused, all at once rather than one by one. Other processes
   and hosts still meet at the row lock, which alone decides; the turn only orders this
   process's attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import holding_limits
from domain.errors import CheckoutCode, Problem
from domain.holding_limits import HoldingLimits
from models import stock_precheck_repository as availability


def out_of_stock(skus: list[str]) -> Problem:
    """The locked path's and the pre-check's one answer for lines that cannot be reserved."""
    return Problem(CheckoutCode.OUT_OF_STOCK, f"Not enough stock for {', '.join(skus)}.", ("cart_token",))


@dataclass(slots=True, frozen=True)
class Verdict:
    refused: Problem | None
    quantities: dict[int, int]  # units per variant; empty when the locked path must decide alone


async def precheck(
    engine: AsyncEngine, limits: HoldingLimits, *, cart_token: str | None, user_id: int | None
) -> Verdict:
    """OUT_OF_STOCK when the committed stock cannot cover the cart; else what the cart wants."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        lines = await availability.active_cart_availability(conn, token=cart_token, user_id=user_id)
    if not lines or not all(line.product_active for line in lines):
        return Verdict(None, {})
    wanted = [holding_limits.Wanted(line.variant_id, line.sku, line.quantity) for line in lines]
    if holding_limits.size_problems(limits, wanted):
        return Verdict(None, {})
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
    available = {line.variant_id: line.available for line in lines}
    short = {variant for variant, quantity in quantities.items() if available[variant] < quantity}
    if short:
        return Verdict(out_of_stock([line.sku for line in lines if line.variant_id in short]), quantities)
    return Verdict(None, quantities)


@dataclass(slots=True, eq=False)
class _Gate:
    """One variant's locked attempts in this process: whether one runs, and what the last one left."""

    busy: bool = False
    waiting: int = 0
    version: int = 0  # attempts finished
    available: int | None = None  # stock - reserved, read after attempt `version` ended
    finished: asyncio.Event = field(default_factory=asyncio.Event)


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
        if gate is not None and not gate.busy and not gate.waiting:
            del gates[variant_id]


@contextlib.asynccontextmanager
async def turn(
    engine: AsyncEngine, limits: HoldingLimits, *, cart_token: str | None, user_id: int | None
) -> AsyncIterator[Problem | None]:
    """Yields OUT_OF_STOCK (refused without a lock), or None: the locked attempt may run now."""
    verdict = await precheck(engine, limits, cart_token=cart_token, user_id=user_id)
    if verdict.refused is not None or not verdict.quantities:
        yield verdict.refused
        return
    ids = sorted(verdict.quantities)
    registry = _gates_of(engine)
    gates = [registry.setdefault(variant_id, _Gate()) for variant_id in ids]
    seen = [gate.version for gate in gates]  # our own read is as new as these attempts
    for gate in gates:
        gate.waiting += 1
    try:
        while True:
            # An attempt ended since our read and left too little: confirm with a read of our own.
            if any(
                gate.version > version
                and gate.available is not None
                and gate.available < verdict.quantities.get(i, 0)
                for gate, version, i in zip(gates, seen, ids, strict=True)
            ):
                seen = [gate.version for gate in gates]
                verdict = await precheck(engine, limits, cart_token=cart_token, user_id=user_id)
                if verdict.refused is not None:
                    break
                continue
            if not any(gate.busy for gate in gates):
                break
            await next(gate for gate in gates if gate.busy).finished.wait()
    finally:
        for gate in gates:
            gate.waiting -= 1
    if verdict.refused is not None:
        _forget_idle(registry, ids)
        yield verdict.refused
        return
    for gate in gates:
        gate.busy = True
    try:
        yield None
    finally:
        try:
            await _after_attempt(engine, ids, gates)
        finally:
            _forget_idle(registry, ids)


async def _after_attempt(engine: AsyncEngine, ids: list[int], gates: list[_Gate]) -> None:
    """Tell the waiters what the attempt left (when anyone waits), then let the next one in."""
    left: dict[int, int] = {}
    try:
        if any(gate.waiting for gate in gates):
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                left = await availability.available(conn, ids)
    finally:
        for variant_id, gate in zip(ids, gates, strict=True):
            gate.version += 1
            gate.available = left.get(variant_id)
            gate.busy = False
            gate.finished.set()
            gate.finished = asyncio.Event()
