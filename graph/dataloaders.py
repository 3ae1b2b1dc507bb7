"""Per-request DataLoaders: every nested read of a query is batched into one statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.dataloader import DataLoader

from domain import attributes, catalog
from domain import order_reads as orders
from domain.attributes import AttributeRow, SelectedRow
from domain.catalog import CategoryRow, ProductRow, VariantRow
from domain.order_reads import OrderLineRow, OrderRow, StatusChangeRow

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
    """A request's loaders, each made when first used: most requests use none or one of them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @cached_property
    def product(self) -> DataLoader[int, ProductRow | None]:
        return _batched(self._engine, catalog.products_by_ids)

    @cached_property
    def product_by_slug(self) -> DataLoader[str, ProductRow | None]:
        return _batched(self._engine, catalog.products_by_slugs)

    @cached_property
    def category(self) -> DataLoader[int, CategoryRow | None]:
        return _batched(self._engine, catalog.categories_by_ids)

    @cached_property
    def variant(self) -> DataLoader[int, VariantRow | None]:
        return _batched(self._engine, catalog.variants_by_ids)

    @cached_property
    def variants_of_product(self) -> DataLoader[int, list[VariantRow]]:
        return _batched(self._engine, catalog.variants_by_product_ids, missing=[])

    @cached_property
    def attribute(self) -> DataLoader[int, AttributeRow | None]:
        return _batched(self._engine, attributes.attributes_by_ids)

    @cached_property
    def product_attributes(self) -> DataLoader[int, list[SelectedRow]]:
        return _batched(self._engine, attributes.selected_of_products, missing=[])

    @cached_property
    def variant_attributes(self) -> DataLoader[int, list[SelectedRow]]:
        return _batched(self._engine, attributes.selected_of_variants, missing=[])

    @cached_property
    def order(self) -> DataLoader[int, OrderRow | None]:
        return _batched(self._engine, orders.orders_by_ids)

    @cached_property
    def order_lines(self) -> DataLoader[int, list[OrderLineRow]]:
        return _batched(self._engine, orders.lines_of_orders, missing=[])

    @cached_property
    def order_history(self) -> DataLoader[int, list[StatusChangeRow]]:
        return _batched(self._engine, orders.history_of_orders, missing=[])
