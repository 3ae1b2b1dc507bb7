"""Reads and writes of reviews and products' ratings. Every function takes an open connection.

Lists read the pages of many products at once (one statement per distinct page request) so that
the GraphQL layer's DataLoaders can batch them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models.catalog import Product, ProductVariant
from models.orders import Order, OrderLine, OrderStatus
from models.reviews import Review

reviews = Review.__table__
products = Product.__table__
variants = ProductVariant.__table__
orders = Order.__table__
order_lines = OrderLine.__table__

# The order statuses in which a customer has received what they bought.
RECEIVED = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


@dataclass(slots=True, frozen=True)
class ReviewRow:
    id: int
    product_id: int
    user_id: int
    rating: int
    title: str | None
    body: str
    is_hidden: bool
    created_at: datetime
    updated_at: datetime | None


@dataclass(slots=True, frozen=True)
class RatingRow:
    count: int
    sum: int


_review_columns = tuple(reviews.c[field] for field in ReviewRow.__dataclass_fields__)


def _review_row(row: Any) -> ReviewRow:
    return ReviewRow(**{field: row._mapping[field] for field in ReviewRow.__dataclass_fields__})


class ReviewOrder(Enum):
    NEWEST = "NEWEST"
    HIGHEST = "HIGHEST"
    LOWEST = "LOWEST"


# Per order: the keyset columns, the ORDER BY, and the condition for rows after (:k0, :k1).
_ORDERS: dict[ReviewOrder, tuple[tuple[str, str], str, str]] = {
    ReviewOrder.NEWEST: (
        ("created_at", "id"),
        "created_at DESC, id DESC",
        "(created_at, id) < (CAST(:k0 AS timestamptz), CAST(:k1 AS bigint))",
    ),
    ReviewOrder.HIGHEST: (
        ("rating", "id"),
        "rating DESC, id DESC",
        "(rating, id) < (CAST(:k0 AS smallint), CAST(:k1 AS bigint))",
    ),
    # Lowest first, the newest of equal ratings first.
    ReviewOrder.LOWEST: (
        ("rating", "id"),
        "rating ASC, id DESC",
        "(rating > CAST(:k0 AS smallint) OR (rating = CAST(:k0 AS smallint) AND id < CAST(:k1 AS bigint)))",
    ),
}


@dataclass(slots=True, frozen=True)
class ReviewPageKey:
    """One product's page of shown reviews: `after` is the sort key of the last review seen."""

    product_id: int
    order: ReviewOrder
    limit: int
    after: tuple[Any, ...] | None = None


@dataclass(slots=True, frozen=True)
class ReviewPage:
    rows: list[ReviewRow]
    sort_keys: list[tuple[Any, ...]]
    has_next_page: bool


def review_sort_key(row: ReviewRow, order: ReviewOrder) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in _ORDERS[order][0])


async def review_pages(
    conn: AsyncConnection, keys: Sequence[ReviewPageKey]
) -> dict[ReviewPageKey, ReviewPage]:
    """Pages of shown reviews for many products: one statement per (order, limit, after) asked."""
    groups: dict[tuple[ReviewOrder, int, tuple[Any, ...] | None], list[int]] = defaultdict(list)
    for key in keys:
        groups[(key.order, key.limit, key.after)].append(key.product_id)
    pages: dict[ReviewPageKey, ReviewPage] = {}
    columns = ", ".join(f"r.{field}" for field in ReviewRow.__dataclass_fields__)
    for (order, limit, after), product_ids in groups.items():
        _, order_by, after_condition = _ORDERS[order]
        condition = f"AND {after_condition}" if after is not None else ""
        statement = text(  # columns, orders and limit are ours, never input
            f"""
            SELECT {columns}
            FROM unnest(CAST(:ids AS bigint[])) AS p(id)
            CROSS JOIN LATERAL (
                SELECT * FROM reviews
                WHERE product_id = p.id AND NOT is_hidden {condition}
                ORDER BY {order_by}
                LIMIT {int(limit) + 1}
            ) AS r
            """  # noqa: S608
        )
        values: dict[str, Any] = {"ids": sorted(set(product_ids))}
        if after is not None:
            values.update(k0=after[0], k1=after[1])
        grouped: dict[int, list[ReviewRow]] = defaultdict(list)
        for row in await conn.execute(statement, values):
            grouped[row.product_id].append(_review_row(row))
        for product_id in product_ids:
            rows = grouped.get(product_id, [])
            shown = rows[:limit]
            pages[ReviewPageKey(product_id, order, limit, after)] = ReviewPage(
                rows=shown,
                sort_keys=[review_sort_key(row, order) for row in shown],
                has_next_page=len(rows) > limit,
            )
    return pages


async def ratings_by_product_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, RatingRow]:
    statement = select(products.c.id, products.c.rating_count, products.c.rating_sum).where(
        products.c.id.in_(ids)
    )
    return {row.id: RatingRow(row.rating_count, row.rating_sum) for row in await conn.execute(statement)}


async def shown_reviews_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ReviewRow]:
    statement = (
        select(*_review_columns)
        .join(products, products.c.id == reviews.c.product_id)
        .where(reviews.c.id.in_(ids), ~reviews.c.is_hidden, products.c.is_active)
    )
    return {row.id: _review_row(row) for row in await conn.execute(statement)}


async def active_product_exists(conn: AsyncConnection, product_id: int) -> bool:
    statement = select(exists().where(products.c.id == product_id, products.c.is_active))
    return bool((await conn.execute(statement)).scalar())


async def has_received(conn: AsyncConnection, user_id: int, product_id: int) -> bool:
    """Whether the user has an order line of the product in a delivered or completed order."""
    statement = select(
        exists()
        .select_from(
            orders.join(order_lines, order_lines.c.order_id == orders.c.id).join(
                variants, variants.c.id == order_lines.c.variant_id
            )
        )
        .where(
            orders.c.user_id == user_id,
            orders.c.status.in_([str(status) for status in RECEIVED]),
            variants.c.product_id == product_id,
        )
    )
    return bool((await conn.execute(statement)).scalar())


async def review_of_user(conn: AsyncConnection, user_id: int, product_id: int) -> ReviewRow | None:
    statement = select(*_review_columns).where(
        reviews.c.user_id == user_id, reviews.c.product_id == product_id
    )
    row = (await conn.execute(statement)).first()
    return _review_row(row) if row else None


async def upsert_review(
    conn: AsyncConnection, user_id: int, product_id: int, rating: int, title: str | None, body: str
) -> ReviewRow:
    """The user's one review of the product, created or replaced (a hidden one stays hidden)."""
    statement = insert(reviews).values(
        user_id=user_id, product_id=product_id, rating=rating, title=title, body=body
    )
    statement = statement.on_conflict_do_update(
        constraint="ux_reviews_user_product",
        set_={"rating": rating, "title": title, "body": body, "updated_at": func.now()},
    ).returning(*_review_columns)
    return _review_row((await conn.execute(statement)).one())


async def set_review_hidden(conn: AsyncConnection, review_id: int, hidden: bool) -> ReviewRow | None:
    statement = (
        update(reviews).where(reviews.c.id == review_id).values(is_hidden=hidden).returning(*_review_columns)
    )
    row = (await conn.execute(statement)).first()
    return _review_row(row) if row else None


async def reviews_of_user(conn: AsyncConnection, user_id: int) -> list[ReviewRow]:
    """Every review the user wrote, hidden ones included (for their data export)."""
    statement = select(*_review_columns).where(reviews.c.user_id == user_id).order_by(reviews.c.id)
    return [_review_row(row) for row in await conn.execute(statement)]


async def delete_reviews_of_user(conn: AsyncConnection, user_id: int) -> int:
    """The user's reviews go with their account (the products' ratings follow by trigger)."""
    result = await conn.execute(delete(reviews).where(reviews.c.user_id == user_id))
    return result.rowcount


async def notify_if_author(conn: AsyncConnection, user_id: int) -> None:
    """The catalog's answer caches show authors' names with their reviews: when this user has any,
    tell them (the `catalog_changed` channel of the review triggers, migration 0011) that those
    answers changed, in the writing transaction."""
    await conn.execute(
        text(
            "SELECT pg_notify('catalog_changed', '')"
            " WHERE EXISTS (SELECT 1 FROM reviews WHERE user_id = :user_id)"
        ),
        {"user_id": user_id},
    )
