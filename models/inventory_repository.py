"""Stock movements on variants. `reserved` holds units for unpaid checkouts.

Rows are locked in id order before any change so concurrent checkouts of overlapping
carts queue up instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(slots=True, frozen=True)
class Reservation:
    short: list[int]  # variant ids short of stock: nothing was reserved
    left: dict[int, int]  # units of each variant on sale after the reservation (when it was made)


async def reserve(conn: AsyncConnection, quantities: Mapping[int, int]) -> Reservation:
    """Hold every quantity, or nothing: the variant ids short of stock (none on success), and each
    variant's units left on sale after this reservation, read under the row lock.

    The lock is FOR NO KEY UPDATE, the one the UPDATE itself takes: the order lines a checkout
    inserts before reserving hold FOR KEY SHARE on their variants (the foreign key), which this
    lock does not wait for; FOR UPDATE would, and two checkouts would deadlock."""
    ids = sorted(quantities)
    wanted = [quantities[variant_id] for variant_id in ids]
    # One statement locks, checks and updates (one round trip less while the row locks are held):
    # `locked` waits for the row locks and reads the rows' latest versions; the UPDATE runs only
    # when every wanted quantity is covered (all or nothing) and, meeting rows a concurrent
    # transaction changed after the statement's snapshot, re-reads their latest (now locked by
    # us) versions as READ COMMITTED updates do, so `reserved` is added to what was checked.
    result = await conn.execute(
        text(
            """
            WITH wanted AS (
                SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS w(id, quantity)
            ), locked AS (
                SELECT v.id, v.stock - v.reserved AS available
                FROM product_variants v JOIN wanted USING (id)
                ORDER BY v.id
                FOR NO KEY UPDATE OF v
            ), checked AS (
                SELECT wanted.id, wanted.quantity, locked.available FROM wanted LEFT JOIN locked USING (id)
            ), updated AS (
                UPDATE product_variants v SET reserved = v.reserved + checked.quantity
                FROM checked
                WHERE v.id = checked.id
                  AND NOT EXISTS (
                      SELECT FROM checked c WHERE c.available IS NULL OR c.available < c.quantity
                  )
                RETURNING v.id
            )
            SELECT checked.id, checked.available, (SELECT count(*) FROM updated) AS updated
            FROM checked ORDER BY checked.id
            """
        ),
        {"ids": ids, "quantities": wanted},
    )
    rows = result.all()
    available = {row.id: row.available for row in rows}
    short = [i for i in ids if available[i] is None or available[i] < quantities[i]]
    if short:
        return Reservation(short, {})
    if rows[0].updated != len(ids):  # cannot happen: every variant was locked and covered
        raise RuntimeError("a reservation did not update every variant")
    return Reservation([], {i: available[i] - quantities[i] for i in ids})


async def _apply(conn: AsyncConnection, quantities: Mapping[int, int], assignment: str) -> None:
    ids = sorted(quantities)
    await conn.execute(
        text(
            f"""
            WITH locked AS (
                SELECT id FROM product_variants WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE
            )
            UPDATE product_variants v SET {assignment}
            FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS w(id, quantity), locked
            WHERE v.id = w.id AND locked.id = v.id
            """  # noqa: S608  (the assignment is one of the constants below)
        ),
        {"ids": ids, "quantities": [quantities[variant_id] for variant_id in ids]},
    )


async def release(conn: AsyncConnection, quantities: Mapping[int, int]) -> None:
    """Give held units back to sale."""
    await _apply(conn, quantities, "reserved = v.reserved - w.quantity")


async def commit(conn: AsyncConnection, quantities: Mapping[int, int]) -> None:
    """Turn held units into sold ones."""
    await _apply(conn, quantities, "stock = v.stock - w.quantity, reserved = v.reserved - w.quantity")


async def restock(conn: AsyncConnection, quantities: Mapping[int, int]) -> None:
    """Put sold units that never shipped back into stock."""
    await _apply(conn, quantities, "stock = v.stock + w.quantity")
