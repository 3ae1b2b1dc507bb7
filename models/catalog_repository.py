"""Reads of the catalog by key. Every function takes an open connection and returns plain rows.

List reads take many keys at once so that the GraphQL layer's DataLoaders can batch them. A page
of products (filters, search, sorting) is models.product_page, built on `product_select` here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from models.catalog import Category, Product, ProductVariant

categories = Category.__table__
products = Product.__table__
variants = ProductVariant.__table__


@dataclass(slots=True, frozen=True)
class CategoryRow:
    id: int
    parent_id: int | None
    slug: str
    name: str


@dataclass(slots=True, frozen=True)
class ProductRow:
    id: int
    slug: str
    name: str
    description: str
    category_id: int | None
    images: list[dict[str, Any]]
    created_at: datetime
    min_price: int
    max_price: int
    quantity_available: int


@dataclass(slots=True, frozen=True)
class VariantRow:
    id: int
    product_id: int
    sku: str
    name: str
    price: int
    quantity_available: int


# ---------------------------------------------------------------- products

price_summary = (
    select(
        func.coalesce(func.min(variants.c.price), 0).label("min_price"),
        func.coalesce(func.max(variants.c.price), 0).label("max_price"),
        func.coalesce(func.sum(variants.c.stock - variants.c.reserved), 0).label("quantity_available"),
    )
    .where(variants.c.product_id == products.c.id, variants.c.deleted_at.is_(None))
    .lateral("price_summary")
)

# The variants of each product as one JSON array of [id, sku, name, price, available], in order.
_variant_list = (
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_array(
                    variants.c.id,
                    variants.c.sku,
                    variants.c.name,
                    variants.c.price,
                    variants.c.stock - variants.c.reserved,
                ),
                variants.c.position,
                variants.c.id,
            ),
            type_=JSON,
        ).label("variant_list")
    )
    .where(variants.c.product_id == products.c.id, variants.c.deleted_at.is_(None))
    .lateral("variant_list")
)
_page_category = categories.alias("page_category")
_page_category_columns = (
    _page_category.c.parent_id.label("category_parent_id"),
    _page_category.c.slug.label("category_slug"),
    _page_category.c.name.label("category_name"),
)

_product_columns = (
    products.c.id,
    products.c.slug,
    products.c.name,
    products.c.description,
    products.c.category_id,
    products.c.images,
    products.c.created_at,
    price_summary.c.min_price,
    price_summary.c.max_price,
    price_summary.c.quantity_available,
)


def product_select(
    *extra: ColumnElement[Any], with_variants: bool = False, with_category: bool = False
) -> Select[Any]:
    joined = products.join(price_summary, true())
    columns = [*_product_columns, *extra]
    if with_variants:
        joined = joined.join(_variant_list, true())
        columns.append(_variant_list.c.variant_list)
    if with_category:
        joined = joined.outerjoin(_page_category, _page_category.c.id == products.c.category_id)
        columns.extend(_page_category_columns)
    return select(*columns).select_from(joined).where(products.c.is_active)


def product_row(row: Mapping[str, Any]) -> ProductRow:
    return ProductRow(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        category_id=row["category_id"],
        images=row["images"],
        created_at=row["created_at"],
        min_price=int(row["min_price"]),
        max_price=int(row["max_price"]),
        quantity_available=int(row["quantity_available"]),
    )


async def products_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ProductRow]:
    result = await conn.execute(product_select().where(products.c.id.in_(ids)))
    return {row.id: product_row(row._mapping) for row in result}


def storable(text: str) -> bool:
    """PostgreSQL text cannot hold NUL: a key with one names nothing, and must not reach SQL."""
    return "\x00" not in text


async def products_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, ProductRow]:
    slugs = [slug for slug in slugs if storable(slug)]
    if not slugs:
        return {}
    result = await conn.execute(product_select().where(products.c.slug.in_(slugs)))
    return {row.slug: product_row(row._mapping) for row in result}


# ---------------------------------------------------------------- variants

_variant_columns = (
    variants.c.id,
    variants.c.product_id,
    variants.c.sku,
    variants.c.name,
    variants.c.price,
    (variants.c.stock - variants.c.reserved).label("quantity_available"),
)


def _variant_row(row: Any) -> VariantRow:
    return VariantRow(
        id=row.id,
        product_id=row.product_id,
        sku=row.sku,
        name=row.name,
        price=row.price,
        quantity_available=row.quantity_available,
    )


async def variants_by_product_ids(
    conn: AsyncConnection, product_ids: Sequence[int]
) -> dict[int, list[VariantRow]]:
    statement = (
        select(*_variant_columns)
        .where(variants.c.product_id.in_(product_ids), variants.c.deleted_at.is_(None))
        .order_by(variants.c.product_id, variants.c.position, variants.c.id)
    )
    grouped: dict[int, list[VariantRow]] = defaultdict(list)
    for row in await conn.execute(statement):
        grouped[row.product_id].append(_variant_row(row))
    return grouped


async def variants_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, VariantRow]:
    """Variants of active products only: the others are not for sale."""
    statement = (
        select(*_variant_columns)
        .join(products, products.c.id == variants.c.product_id)
        .where(variants.c.id.in_(ids), products.c.is_active, variants.c.deleted_at.is_(None))
    )
    result = await conn.execute(statement)
    return {row.id: _variant_row(row) for row in result}


# ---------------------------------------------------------------- categories

_category_columns = (categories.c.id, categories.c.parent_id, categories.c.slug, categories.c.name)


def _category_row(row: Any) -> CategoryRow:
    return CategoryRow(id=row.id, parent_id=row.parent_id, slug=row.slug, name=row.name)


async def categories_by_ids(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, CategoryRow]:
    result = await conn.execute(select(*_category_columns).where(categories.c.id.in_(list(ids))))
    return {row.id: _category_row(row) for row in result}


async def all_categories(conn: AsyncConnection) -> list[CategoryRow]:
    result = await conn.execute(
        select(*_category_columns).order_by(categories.c.position, categories.c.name, categories.c.id)
    )
    return [_category_row(row) for row in result]
