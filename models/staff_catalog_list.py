"""The staff's lists of the catalog (the dashboard): products, variants, categories and attributes,
searched by name, slug or SKU, newest or in order, a page at a time. Deleted items are listed too
(staff restore them); storefront reads are elsewhere (models.catalog_repository, product_page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def _pattern(search: str | None) -> str | None:
    if not search or not search.strip():
        return None
    term = search.strip()[:200]
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(slots=True, frozen=True)
class ProductListRow:
    id: int
    slug: str
    name: str
    description: str
    category_id: int | None
    category_slug: str | None
    category: str | None
    images: list[dict[str, Any]]
    is_active: bool
    deleted_at: datetime | None
    created_at: datetime
    variants: int
    stock: int


_PRODUCTS = """
    SELECT p.id, p.slug, p.name, p.description, p.category_id, c.slug AS category_slug, c.name AS category,
           p.images, p.is_active,
           p.deleted_at, p.created_at,
           (SELECT count(*) FROM product_variants v WHERE v.product_id = p.id AND v.deleted_at IS NULL)
               AS variants,
           (SELECT coalesce(sum(v.stock), 0) FROM product_variants v
            WHERE v.product_id = p.id AND v.deleted_at IS NULL) AS stock
    FROM products p LEFT JOIN categories c ON c.id = p.category_id
"""
_PRODUCT_MATCH = "(CAST(:pattern AS text) IS NULL OR p.name ILIKE :pattern OR p.slug ILIKE :pattern)"


async def products(
    conn: AsyncConnection, search: str | None, offset: int, limit: int
) -> list[ProductListRow]:
    rows = await conn.execute(
        text(f"{_PRODUCTS} WHERE {_PRODUCT_MATCH} ORDER BY p.id DESC OFFSET :offset LIMIT :limit"),
        {"pattern": _pattern(search), "offset": offset, "limit": limit},
    )
    return [ProductListRow(**row._mapping) for row in rows]


async def products_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[ProductListRow]:
    rows = await conn.execute(
        text(f"{_PRODUCTS} WHERE p.id = ANY(CAST(:ids AS bigint[]))"), {"ids": list(ids)}
    )
    return [ProductListRow(**row._mapping) for row in rows]


async def count_products(conn: AsyncConnection, search: str | None) -> int:
    statement = text(f"SELECT count(*) FROM products p WHERE {_PRODUCT_MATCH}")  # noqa: S608 (constants)
    return (await conn.execute(statement, {"pattern": _pattern(search)})).scalar_one()


@dataclass(slots=True, frozen=True)
class VariantListRow:
    id: int
    product_id: int
    product_slug: str
    product: str
    sku: str
    name: str
    price: int
    stock: int
    reserved: int
    position: int
    deleted_at: datetime | None


_VARIANTS = """
    SELECT v.id, v.product_id, p.slug AS product_slug, p.name AS product, v.sku, v.name, v.price, v.stock,
           v.reserved, v.position, v.deleted_at
    FROM product_variants v JOIN products p ON p.id = v.product_id
"""
_VARIANT_MATCH = (
    "(CAST(:pattern AS text) IS NULL OR v.sku ILIKE :pattern OR v.name ILIKE :pattern"
    " OR p.name ILIKE :pattern OR p.slug ILIKE :pattern)"
)


async def variants(
    conn: AsyncConnection, search: str | None, offset: int, limit: int
) -> list[VariantListRow]:
    rows = await conn.execute(
        text(f"{_VARIANTS} WHERE {_VARIANT_MATCH} ORDER BY v.id DESC OFFSET :offset LIMIT :limit"),
        {"pattern": _pattern(search), "offset": offset, "limit": limit},
    )
    return [VariantListRow(**row._mapping) for row in rows]


async def variants_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[VariantListRow]:
    rows = await conn.execute(
        text(f"{_VARIANTS} WHERE v.id = ANY(CAST(:ids AS bigint[]))"), {"ids": list(ids)}
    )
    return [VariantListRow(**row._mapping) for row in rows]


async def count_variants(conn: AsyncConnection, search: str | None) -> int:
    joined = "product_variants v JOIN products p ON p.id = v.product_id"
    statement = text(f"SELECT count(*) FROM {joined} WHERE {_VARIANT_MATCH}")  # noqa: S608 (constants)
    return (await conn.execute(statement, {"pattern": _pattern(search)})).scalar_one()


@dataclass(slots=True, frozen=True)
class CategoryListRow:
    id: int
    slug: str
    name: str
    parent_id: int | None
    parent_slug: str | None
    parent: str | None
    position: int


_CATEGORIES = """
    SELECT c.id, c.slug, c.name, c.parent_id, parent.slug AS parent_slug, parent.name AS parent, c.position
    FROM categories c LEFT JOIN categories parent ON parent.id = c.parent_id
"""
_CATEGORY_MATCH = "(CAST(:pattern AS text) IS NULL OR c.name ILIKE :pattern OR c.slug ILIKE :pattern)"


async def categories(
    conn: AsyncConnection, search: str | None, offset: int, limit: int
) -> list[CategoryListRow]:
    rows = await conn.execute(
        text(f"{_CATEGORIES} WHERE {_CATEGORY_MATCH} ORDER BY c.name, c.id OFFSET :offset LIMIT :limit"),
        {"pattern": _pattern(search), "offset": offset, "limit": limit},
    )
    return [CategoryListRow(**row._mapping) for row in rows]


async def categories_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[CategoryListRow]:
    rows = await conn.execute(
        text(f"{_CATEGORIES} WHERE c.id = ANY(CAST(:ids AS bigint[]))"), {"ids": list(ids)}
    )
    return [CategoryListRow(**row._mapping) for row in rows]


async def count_categories(conn: AsyncConnection, search: str | None) -> int:
    statement = text(f"SELECT count(*) FROM categories c WHERE {_CATEGORY_MATCH}")  # noqa: S608 (constants)
    return (await conn.execute(statement, {"pattern": _pattern(search)})).scalar_one()


@dataclass(slots=True, frozen=True)
class AttributeListRow:
    id: int
    slug: str
    name: str
    input_type: str
    position: int
    values: list[str]


_ATTRIBUTES = """
    SELECT a.id, a.slug, a.name, a.input_type, a.position,
           coalesce(array_agg(av.name ORDER BY av.position, av.id) FILTER (WHERE av.id IS NOT NULL), '{}')
               AS values
    FROM attributes a LEFT JOIN attribute_values av ON av.attribute_id = a.id
"""
_ATTRIBUTE_MATCH = "(CAST(:pattern AS text) IS NULL OR a.name ILIKE :pattern OR a.slug ILIKE :pattern)"


async def attributes(
    conn: AsyncConnection, search: str | None, offset: int, limit: int
) -> list[AttributeListRow]:
    rows = await conn.execute(
        text(
            f"{_ATTRIBUTES} WHERE {_ATTRIBUTE_MATCH} GROUP BY a.id"
            " ORDER BY a.position, a.name, a.id OFFSET :offset LIMIT :limit"
        ),
        {"pattern": _pattern(search), "offset": offset, "limit": limit},
    )
    return [AttributeListRow(**row._mapping) for row in rows]


async def attributes_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[AttributeListRow]:
    rows = await conn.execute(
        text(f"{_ATTRIBUTES} WHERE a.id = ANY(CAST(:ids AS bigint[])) GROUP BY a.id"), {"ids": list(ids)}
    )
    return [AttributeListRow(**row._mapping) for row in rows]


async def count_attributes(conn: AsyncConnection, search: str | None) -> int:
    statement = text(f"SELECT count(*) FROM attributes a WHERE {_ATTRIBUTE_MATCH}")  # noqa: S608 (constants)
    return (await conn.execute(statement, {"pattern": _pattern(search)})).scalar_one()


async def category_choices(conn: AsyncConnection, limit: int = 1000) -> list[tuple[int, str]]:
    rows = await conn.execute(
        text("SELECT id, name FROM categories ORDER BY name, id LIMIT :limit"), {"limit": limit}
    )
    return [(row.id, row.name) for row in rows]
