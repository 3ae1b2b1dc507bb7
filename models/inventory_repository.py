"""Stock movements on variants. `reserved` holds units for unpaid checkouts.

Rows of several variants are locked in id order before any change so concurrent checkouts of
overlapping carts queue up instead of deadlocking.
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


_LOCK_FOR_RESERVATION = text(
    """
    SELECT id, stock - reserved AS available FROM product_variants
    WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR NO KEY UPDATE
    """
)
_RESERVE = text(
    """
    UPDATE product_variants v SET reserved = v.reserved + w.quantity
    FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS w(id, quantity)
    WHERE v.id = w.id
    """
)


_RESERVE_ONE = text(
    """
    UPDATE product_variants SET reserved = reserved + CAST(:quantity AS int)
    WHERE id = :id AND stock - reserved >= CAST(:quantity AS int)
    RETURNING stock - reserved AS available
    """
)


async def reserve(conn: AsyncConnection, quantities: Mapping[int, int]) -> Reservation:
    """Hold every quantity, or nothing: the variant ids short of stock (none on success), and each
    variant's units left on sale after this reservation, read under the row lock.

    One variant (most carts): one conditional UPDATE. It locks the row as any UPDATE does (FOR NO
    KEY UPDATE); when the row it found is being changed by another transaction, it waits for that
    one, then checks its condition again on the version committed and adds to that version
    (PostgreSQL's re-check of updated rows under READ COMMITTED). The row is held from there to
    the commit: one round trip, where the two statements below hold it for two. A row whose last
    committed version is already short is refused without waiting for a change in progress (as
    the pre-check refuses it, domain.checkout_precheck).

    Several variants: two statements. The first locks the rows in id order (concurrent carts with
    overlapping variants queue instead of deadlocking, whatever order an UPDATE's plan would visit
    them in) and reads their latest versions (a locking read waits for a concurrent writer, then
    reads what it committed); the second, whose snapshot is taken after the locks are held, adds to
    exactly what was checked. One statement that locked in a CTE and updated from the statement's
    own older snapshot was found to write a reservation over a stale row when a restock committed
    while it waited (tests/test_inventory_race.py).

    Either lock is FOR NO KEY UPDATE, the one an UPDATE takes: the order lines a checkout inserts
    before reserving hold FOR KEY SHARE on their variants (the foreign key), which this lock does
    not wait for; FOR UPDATE would, and two checkouts would deadlock."""
    ids = sorted(quantities)
    if len(ids) == 1:
        (variant,) = ids
        left = (
            await conn.execute(_RESERVE_ONE, {"id": variant, "quantity": quantities[variant]})
        ).scalar_one_or_none()
        return Reservation([variant], {}) if left is None else Reservation([], {variant: left})
    rows = (await conn.execute(_LOCK_FOR_RESERVATION, {"ids": ids})).all()
    available = {row.id: row.available for row in rows}
    short = [i for i in ids if i not in available or available[i] < quantities[i]]
    if short:
        return Reservation(short, {})
    await conn.execute(_RESERVE, {"ids": ids, "quantities": [quantities[i] for i in ids]})
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
