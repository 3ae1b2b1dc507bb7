"""Per-request DataLoaders: every nested read of a query is batched into one statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.dataloader import DataLoader

from models import catalog_repository as catalog
from models import order_repository as orders
from models.catalog_repository import CategoryRow, ProductRow, VariantRow
from models.order_repository import OrderLineRow, OrderRow, StatusChangeRow

K = TypeVar("K")
V = TypeVar("V")


def _batched(
    engine: AsyncEngine,
    fetch: Callable[[AsyncConnection, Sequence[K]], Awaitable[Mapping[K, V]]],
    missing: Any = None,
) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        async with engine.connect() as conn:
            found = await fetch(conn, keys)
        return [found.get(key, missing) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, engine: AsyncEngine) -> None:
        self.product: DataLoader[int, ProductRow | None] = _batched(engine, catalog.products_by_ids)
        self.product_by_slug: DataLoader[str, ProductRow | None] = _batched(engine, catalog.products_by_slugs)
        self.category: DataLoader[int, CategoryRow | None] = _batched(engine, catalog.categories_by_ids)
        self.variant: DataLoader[int, VariantRow | None] = _batched(engine, catalog.variants_by_ids)
        self.variants_of_product: DataLoader[int, list[VariantRow]] = _batched(
            engine, catalog.variants_by_product_ids, missing=[]
        )
        self.order: DataLoader[int, OrderRow | None] = _batched(engine, orders.orders_by_ids)
        self.order_lines: DataLoader[int, list[OrderLineRow]] = _batched(
            engine, orders.lines_of_orders, missing=[]
        )
        self.order_history: DataLoader[int, list[StatusChangeRow]] = _batched(
            engine, orders.history_of_orders, missing=[]
        )
