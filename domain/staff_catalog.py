"""The catalog as the staff dashboard lists it (reads only; every write is domain.catalog_admin's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models import staff_catalog_list as lists
from models.staff_catalog_list import AttributeListRow, CategoryListRow, ProductListRow, VariantListRow

__all__ = [
    "KINDS",
    "AttributeListRow",
    "CategoryListRow",
    "ProductListRow",
    "VariantListRow",
    "by_ids",
    "page",
]

MAX_PAGE = 100
T = TypeVar("T")

# kind: (list, count, by ids)
KINDS: dict[
    str, tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[int]], Callable[..., Awaitable[Any]]]
] = {
    "products": (lists.products, lists.count_products, lists.products_by_ids),
    "variants": (lists.variants, lists.count_variants, lists.variants_by_ids),
    "categories": (lists.categories, lists.count_categories, lists.categories_by_ids),
    "attributes": (lists.attributes, lists.count_attributes, lists.attributes_by_ids),
}


async def page(engine: AsyncEngine, kind: str, search: str | None, offset: int, limit: int) -> list[Any]:
    listed, _, _ = KINDS[kind]
    limit = MAX_PAGE if limit <= 0 else min(limit, MAX_PAGE)
    async with engine.connect() as conn:
        return await listed(conn, search, max(0, offset), limit)


async def count(engine: AsyncEngine, kind: str, search: str | None) -> int:
    _, counted, _ = KINDS[kind]
    async with engine.connect() as conn:
        return await counted(conn, search)


async def by_ids(engine: AsyncEngine, kind: str, ids: Sequence[int]) -> list[Any]:
    _, _, found = KINDS[kind]
    async with engine.connect() as conn:
        return await found(conn, list(ids)[:MAX_PAGE])


async def category_choices(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        return await lists.category_choices(conn)


async def in_transaction(engine: AsyncEngine, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run one catalog_admin write (or several) in a transaction of its own."""
    async with engine.begin() as conn:
        return await write(conn)
