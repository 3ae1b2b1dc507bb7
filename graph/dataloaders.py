"""Per-request DataLoaders: every nested read of a query is batched into one statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.dataloader import DataLoader

from models import catalog_repository as catalog
from models.catalog_repository import CategoryRow, ProductRow, VariantRow

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
        self.variants_of_product: DataLoader[int, list[VariantRow]] = DataLoader(
            load_fn=self._variants_of_products(engine)
        )

    @staticmethod
    def _variants_of_products(
        engine: AsyncEngine,
    ) -> Callable[[list[int]], Awaitable[list[list[VariantRow]]]]:
        async def load(product_ids: list[int]) -> list[list[VariantRow]]:
            async with engine.connect() as conn:
                grouped = await catalog.variants_by_product_ids(conn, product_ids)
            return [grouped.get(product_id, []) for product_id in product_ids]

        return load
