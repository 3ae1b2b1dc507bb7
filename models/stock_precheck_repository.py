"""A cart's lines with their variants' availability, read without any lock (checkout's pre-check).

One statement on an autocommit connection (in a transaction of its own behind a pooler): it
waits for no row lock, takes none, and sees only committed stock and reservations, so it can be
behind a reservation being made but never ahead of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.compiled import Reads, fetch_sql
from models.rate_limit_repository import Attempt, Count, arguments, counting, counts_of

_LINES = """
    SELECT l.variant_id, v.sku, l.quantity, v.stock - v.reserved AS available, p.is_active AS product_active,
        l.id AS line_id
    FROM cart_lines l
    JOIN product_variants v ON v.id = l.variant_id
    JOIN products p ON p.id = v.product_id
    WHERE l.cart_id = ({cart})
    ORDER BY l.id
"""
_CART_BY_KEY = (
    "SELECT c.id FROM carts c WHERE c.token = ${token} AND c.status = 'active'"
    " AND (c.user_id IS NULL OR c.user_id = CAST(${user} AS bigint))"
)
_CART_OF_USER = (
    "SELECT c.id FROM carts c WHERE c.user_id = CAST(${user} AS bigint) AND c.status = 'active'"
    " ORDER BY c.id DESC LIMIT 1"
)
BY_TOKEN = _LINES.format(cart=_CART_BY_KEY.format(token=1, user=2))
OF_USER = _LINES.format(cart=_CART_OF_USER.format(user=1))

# The checkout's first statement: its rate-limit count (models.rate_limit_repository.counting,
# parameters $1-$3) and the same read, in one round trip. One row per line, each carrying the
# counts; with no line, one row of counts alone (the LEFT JOIN).
_COUNTED = """
    WITH counted AS ({count}),
    counts AS (
        SELECT array_agg(bucket) AS buckets, array_agg(hits) AS hits, array_agg(seconds_left) AS seconds
        FROM counted
    )
    SELECT lines.variant_id, lines.sku, lines.quantity, lines.available, lines.product_active,
        counts.buckets, counts.hits, counts.seconds
    FROM counts LEFT JOIN LATERAL ({lines}) AS lines ON true
    ORDER BY lines.line_id
"""
COUNTED_BY_TOKEN = _COUNTED.format(
    count=counting(1), lines=_LINES.format(cart=_CART_BY_KEY.format(token=4, user=5))
)
COUNTED_OF_USER = _COUNTED.format(count=counting(1), lines=_LINES.format(cart=_CART_OF_USER.format(user=4)))
COUNTED_NO_CART = _COUNTED.format(count=counting(1), lines=_LINES.format(cart="NULL"))


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

    On the driver (models.compiled.fetch_sql: autocommit on a direct connection, one
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


async def counted_cart_availability(
    conn: Reads, attempts: Sequence[Attempt], *, token: str | None, user_id: int | None
) -> tuple[list[Count], list[AvailabilityLine]]:
    """Count the attempts (as models.rate_limit_repository.count_attempts does) and read the
    lines of the active cart a checkout is about (as `active_cart_availability`), in one
    statement: its own transaction, one round trip."""
    if token is not None:
        statement, values = COUNTED_BY_TOKEN, (token, user_id)
    elif user_id is not None:
        statement, values = COUNTED_OF_USER, (user_id,)
    else:
        statement, values = COUNTED_NO_CART, ()
    rows = await fetch_sql(conn, statement, *arguments(attempts), *values)
    first = rows[0]  # the counts: on every row, and on the one row when there is no line
    counts = counts_of(attempts, first[5] or [], first[6] or [], first[7] or [])
    lines = [AvailabilityLine(row[0], row[1], row[2], row[3], row[4]) for row in rows if row[0] is not None]
    return counts, lines


_AVAILABLE = (
    "SELECT id, stock - reserved AS available FROM product_variants WHERE id = ANY(CAST($1 AS bigint[]))"
)


async def available(conn: Reads, variant_ids: list[int]) -> dict[int, int]:
    """Each variant's stock - reserved, as last committed."""
    return {row[0]: row[1] for row in await fetch_sql(conn, _AVAILABLE, variant_ids)}
