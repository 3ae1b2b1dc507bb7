"""Stock movements on variants. `reserved` holds units for unpaid checkouts.

Rows are locked in id order before any change so concurrent checkouts of overlapping
carts queue up instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def reserve(conn: AsyncConnection, quantities: Mapping[int, int]) -> list[int]:
    """Hold every quantity, or nothing: returns the variant ids short of stock (empty on success)."""
    ids = sorted(quantities)
    wanted = [quantities[variant_id] for variant_id in ids]
    result = await conn.execute(
        text(
            """
            WITH wanted AS (
                SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS w(id, quantity)
            ), locked AS (
                SELECT v.id, v.stock - v.reserved AS available
                FROM product_variants v JOIN wanted USING (id)
                ORDER BY v.id
                FOR UPDATE OF v
            )
            SELECT wanted.id FROM wanted LEFT JOIN locked USING (id)
            WHERE locked.id IS NULL OR locked.available < wanted.quantity
            ORDER BY wanted.id
            """
        ),
        {"ids": ids, "quantities": wanted},
    )
    short = list(result.scalars())
    if short:
        return short
    await conn.execute(
        text(
            """
            UPDATE product_variants v SET reserved = v.reserved + w.quantity
            FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS w(id, quantity)
            WHERE v.id = w.id
            """
        ),
        {"ids": ids, "quantities": wanted},
    )
    return []


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
