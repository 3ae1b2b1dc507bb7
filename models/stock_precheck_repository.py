"""A cart's lines with their variants' availability, read without any lock (checkout's pre-check).

One statement on an autocommit connection (in a transaction of its own behind a pooler): it
waits for no row lock, takes none, and sees only committed stock and reservations, so it can be
behind a reservation being made but never ahead of one.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.compiled import Reads, fetch_sql

_LINES = """
    SELECT l.variant_id, v.sku, l.quantity, v.stock - v.reserved AS available, p.is_active AS product_active
    FROM cart_lines l
    JOIN product_variants v ON v.id = l.variant_id
    JOIN products p ON p.id = v.product_id
    WHERE l.cart_id = ({cart})
    ORDER BY l.id
"""
_CART_BY_KEY = (
    "SELECT c.id FROM carts c WHERE c.token = $1 AND c.status = 'active'"
    " AND (c.user_id IS NULL OR c.user_id = CAST($2 AS bigint))"
)
_CART_OF_USER = (
    "SELECT c.id FROM carts c WHERE c.user_id = CAST($1 AS bigint) AND c.status = 'active'"
    " ORDER BY c.id DESC LIMIT 1"
)
BY_TOKEN = _LINES.format(cart=_CART_BY_KEY)
OF_USER = _LINES.format(cart=_CART_OF_USER)


@dataclass(slots=True, frozen=True)
class AvailabilityLine:
    variant_id: int
    sku: str
    quantity: int
    available: int  # stock - reserved, as last committed
    product_active: bool


async def active_cart_availability(
    conn: Reads, *, token: str | None, user_id: int | None
) -> list[AvailabilityLine]:
    """The lines of the active cart a checkout is about (none when there is no such active cart).

    On the driver (models.compiled.fetch_sql: autocommit on the pool's own connection, one
    transaction behind a pooler): SQLAlchemy's execution path was a third of this read's CPU, and
    every sold-out checkout of a burst makes it.
    """
    if token is not None:
        statement, values = BY_TOKEN, (token, user_id)
    elif user_id is not None:
        statement, values = OF_USER, (user_id,)
    else:
        return []
    rows = await fetch_sql(conn, statement, *values)
    return [AvailabilityLine(row[0], row[1], row[2], row[3], row[4]) for row in rows]


_AVAILABLE = (
    "SELECT id, stock - reserved AS available FROM product_variants WHERE id = ANY(CAST($1 AS bigint[]))"
)


async def available(conn: Reads, variant_ids: list[int]) -> dict[int, int]:
    """Each variant's stock - reserved, as last committed."""
    return {row[0]: row[1] for row in await fetch_sql(conn, _AVAILABLE, variant_ids)}
