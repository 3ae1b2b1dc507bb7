"""The reservation under a concurrent writer (models.inventory_repository.reserve).

A reservation that waits on a variant's row lock while another transaction changes its stock
must decide, and write, from what that transaction committed. The interleaving is made
deterministic: the restock holds its row lock until two reservations are seen waiting on it.
Before the fix, one statement locked in a CTE and updated from the statement's older snapshot:
the last unit given back by the restock was "reserved" over the stale row and PostgreSQL's
check constraint refused it (an internal error for the buyer; the constraint, not the code,
kept stock from being oversold).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from models.inventory_repository import Reservation, commit, reserve
from tests.shop import stock_of, variant_with_stock
from tests.support import eventually, own_engine, sql

COMMITTING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'"
)
WAITING = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY UPDATE%'"


async def test_reservations_waiting_on_a_restock_reserve_from_what_it_committed(database_url: str) -> None:
    _, pk, _ = await variant_with_stock(database_url, 4)
    await sql(database_url, "UPDATE product_variants SET reserved = 4 WHERE id = :pk", pk=pk)  # sold out
    engine = own_engine(database_url, pool_size=3)
    try:

        async def buyer() -> Reservation:
            async with engine.connect() as conn, conn.begin():
                reservation = await reserve(conn, {pk: 1})
                await asyncio.sleep(0.2)  # the other buyer queues on this one's lock meanwhile
                return reservation

        async with engine.connect() as restock:
            await restock.begin()
            await restock.execute(
                text("UPDATE product_variants SET stock = stock + 1 WHERE id = :pk"), {"pk": pk}
            )
            buyers = [asyncio.create_task(buyer()) for _ in range(2)]
            await eventually(
                lambda: _count(database_url, WAITING, 2), message="both reservations wait on the restock"
            )
            await restock.commit()
        results = await asyncio.gather(*buyers)
    finally:
        await engine.dispose()
    # The one unit the restock gave back is reserved once; the other buyer is told it is gone.
    assert sorted(results, key=lambda r: len(r.short)) == [Reservation([], {pk: 0}), Reservation([pk], {})]
    assert await stock_of(database_url, pk) == (5, 5)


async def test_a_payments_stock_commit_waiting_on_a_restock_keeps_the_restocked_units(
    database_url: str,
) -> None:
    """The same interleaving for the other stock movements (`_apply`: a payment's commit here):
    the update waits for the restock and subtracts from what it committed, losing nothing."""
    _, pk, _ = await variant_with_stock(database_url, 4)
    await sql(database_url, "UPDATE product_variants SET reserved = 2 WHERE id = :pk", pk=pk)
    engine = own_engine(database_url, pool_size=2)
    try:

        async def pay() -> None:
            async with engine.connect() as conn, conn.begin():
                await commit(conn, {pk: 2})

        async with engine.connect() as restock:
            await restock.begin()
            await restock.execute(
                text("UPDATE product_variants SET stock = stock + 3 WHERE id = :pk"), {"pk": pk}
            )
            paying = asyncio.create_task(pay())
            await eventually(
                lambda: _count(database_url, COMMITTING, 1), message="the commit waits on the restock"
            )
            await restock.commit()
        await paying
    finally:
        await engine.dispose()
    assert await stock_of(database_url, pk) == (5, 0)  # 4 + 3 restocked - 2 sold; nothing held


async def _count(database_url: str, statement: str, at_least: int) -> bool:
    (row,) = await sql(database_url, statement)
    return row[0] >= at_least
