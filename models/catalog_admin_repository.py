"""Writes of catalog administration, and the reads they need: every row whatever its state.

Each function takes a connection inside the caller's transaction. Rows that a write checks
before changing are locked (`FOR UPDATE`), so two staff edits of one variant's stock queue up.
The storefront's reads (models.catalog_repository, models.product_page) stay where they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.catalog_repository import ProductRow, product_row, products


@dataclass(slots=True, frozen=True)
class ProductRecord:
    id: int
    slug: str
    name: str
    description: str
    category_id: int | None
    images: list[dict[str, Any]]
    is_active: bool
    deleted_at: datetime | None
    created_at: datetime


@dataclass(slots=True, frozen=True)
class VariantRecord:
    id: int
    product_id: int
    sku: str
    name: str
    price: int
    stock: int
    reserved: int
    position: int
    deleted_at: datetime | None


@dataclass(slots=True, frozen=True)
class CategoryRecord:
    id: int
    parent_id: int | None
    slug: str
    name: str
    position: int


@dataclass(slots=True, frozen=True)
class MovementRecord:
    id: int
    variant_id: int
    delta: int
    quantity_after: int
    reason: str
    note: str
    actor_user_id: int | None
    created_at: datetime


@dataclass(slots=True, frozen=True)
class AttributeValueRecord:
    id: int
    attribute_id: int
    slug: str
    name: str
    position: int


@dataclass(slots=True, frozen=True)
class AttributeRecord:
    id: int
    slug: str
    name: str
    input_type: str
    position: int


_PRODUCT = "id, slug, name, description, category_id, images, is_active, deleted_at, created_at"
_VARIANT = "id, product_id, sku, name, price, stock, reserved, position, deleted_at"
_CATEGORY = "id, parent_id, slug, name, position"
_MOVEMENT = "id, variant_id, delta, quantity_after, reason, note, actor_user_id, created_at"
_ATTRIBUTE = "id, slug, name, input_type, position"
_VALUE = "id, attribute_id, slug, name, position"


async def _one(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> Any:
    return (await conn.execute(text(sql), dict(params))).first()


def _sets(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{column} = :{column}" for column in changes)


# ---------------------------------------------------------------- products


async def product(conn: AsyncConnection, product_id: int, *, lock: bool = False) -> ProductRecord | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await _one(conn, f"SELECT {_PRODUCT} FROM products WHERE id = :id{suffix}", {"id": product_id})  # noqa: S608
    return ProductRecord(**row._mapping) if row else None


async def product_by_slug(conn: AsyncConnection, slug: str) -> ProductRecord | None:
    row = await _one(conn, f"SELECT {_PRODUCT} FROM products WHERE slug = :slug", {"slug": slug})  # noqa: S608
    return ProductRecord(**row._mapping) if row else None


async def slug_taken(conn: AsyncConnection, table: str, slug: str, other_than: int | None = None) -> bool:
    """Whether `slug` names another row of `table` (products, categories or attributes)."""
    assert table in ("products", "categories", "attributes")
    row = await _one(
        conn,
        f"SELECT 1 FROM {table} WHERE slug = :slug AND id IS DISTINCT FROM :other",  # noqa: S608
        {"slug": slug, "other": other_than},
    )
    return row is not None


async def insert_product(conn: AsyncConnection, values: Mapping[str, Any]) -> ProductRecord:
    values = {**values, "images": orjson.dumps(values.get("images", [])).decode()}
    row = await _one(
        conn,
        f"""
        INSERT INTO products (slug, name, description, category_id, images, is_active)
        VALUES (:slug, :name, :description, :category_id, CAST(:images AS jsonb), :is_active)
        RETURNING {_PRODUCT}
        """,  # noqa: S608
        values,
    )
    return ProductRecord(**row._mapping)


async def update_product(conn: AsyncConnection, product_id: int, changes: Mapping[str, Any]) -> ProductRecord:
    changes = dict(changes)
    sets = _sets(changes)
    if "images" in changes:
        changes["images"] = orjson.dumps(changes["images"]).decode()
        sets = sets.replace("images = :images", "images = CAST(:images AS jsonb)")
    row = await _one(
        conn,
        f"UPDATE products SET {sets} WHERE id = :product_id RETURNING {_PRODUCT}",  # noqa: S608
        {**changes, "product_id": product_id},
    )
    return ProductRecord(**row._mapping)


async def set_product_active(conn: AsyncConnection, product_id: int, active: bool) -> ProductRecord:
    row = await _one(
        conn,
        f"""
        UPDATE products SET is_active = :active,
            deleted_at = CASE WHEN :active THEN NULL ELSE coalesce(deleted_at, now()) END
        WHERE id = :id RETURNING {_PRODUCT}
        """,  # noqa: S608
        {"id": product_id, "active": active},
    )
    return ProductRecord(**row._mapping)


# ---------------------------------------------------------------- variants


async def variant(conn: AsyncConnection, variant_id: int, *, lock: bool = False) -> VariantRecord | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await _one(
        conn,
        f"SELECT {_VARIANT} FROM product_variants WHERE id = :id{suffix}",  # noqa: S608
        {"id": variant_id},
    )
    return VariantRecord(**row._mapping) if row else None


async def variant_by_sku(conn: AsyncConnection, sku: str) -> VariantRecord | None:
    row = await _one(conn, f"SELECT {_VARIANT} FROM product_variants WHERE sku = :sku", {"sku": sku})  # noqa: S608
    return VariantRecord(**row._mapping) if row else None


async def variants_of(conn: AsyncConnection, product_id: int) -> list[VariantRecord]:
    result = await conn.execute(
        text(f"SELECT {_VARIANT} FROM product_variants WHERE product_id = :id ORDER BY position, id"),  # noqa: S608
        {"id": product_id},
    )
    return [VariantRecord(**row._mapping) for row in result]


async def sku_taken(conn: AsyncConnection, sku: str, other_than: int | None = None) -> bool:
    row = await _one(
        conn,
        "SELECT 1 FROM product_variants WHERE sku = :sku AND id IS DISTINCT FROM :other",
        {"sku": sku, "other": other_than},
    )
    return row is not None


async def insert_variant(conn: AsyncConnection, values: Mapping[str, Any]) -> VariantRecord:
    row = await _one(
        conn,
        f"""
        INSERT INTO product_variants (product_id, sku, name, price, stock, position)
        VALUES (:product_id, :sku, :name, :price, :stock,
                coalesce(:position, (SELECT coalesce(max(position) + 1, 0) FROM product_variants
                                     WHERE product_id = :product_id)))
        RETURNING {_VARIANT}
        """,  # noqa: S608
        values,
    )
    return VariantRecord(**row._mapping)


async def update_variant(conn: AsyncConnection, variant_id: int, changes: Mapping[str, Any]) -> VariantRecord:
    row = await _one(
        conn,
        f"UPDATE product_variants SET {_sets(changes)} WHERE id = :variant_id RETURNING {_VARIANT}",  # noqa: S608
        {**changes, "variant_id": variant_id},
    )
    return VariantRecord(**row._mapping)


async def set_variant_deleted(conn: AsyncConnection, variant_id: int, deleted: bool) -> VariantRecord:
    row = await _one(
        conn,
        f"""
        UPDATE product_variants
        SET deleted_at = CASE WHEN :deleted THEN coalesce(deleted_at, now()) ELSE NULL END
        WHERE id = :id RETURNING {_VARIANT}
        """,  # noqa: S608
        {"id": variant_id, "deleted": deleted},
    )
    return VariantRecord(**row._mapping)


async def set_stock(
    conn: AsyncConnection,
    variant_id: int,
    stock: int,
    *,
    delta: int,
    reason: str,
    note: str,
    actor_user_id: int | None,
) -> tuple[VariantRecord, MovementRecord]:
    """Set a (locked) variant's stock and append the ledger row, in one statement."""
    row = await _one(
        conn,
        f"""
        WITH changed AS (
            UPDATE product_variants SET stock = :stock WHERE id = :id RETURNING {_VARIANT}
        ), movement AS (
            INSERT INTO inventory_movements (variant_id, delta, quantity_after, reason, note, actor_user_id)
            SELECT id, :delta, stock, :reason, :note, :actor FROM changed
            RETURNING {_MOVEMENT}
        )
        SELECT row_to_json(changed.*) AS variant, row_to_json(movement.*) AS movement FROM changed, movement
        """,  # noqa: S608
        {
            "id": variant_id,
            "stock": stock,
            "delta": delta,
            "reason": reason,
            "note": note,
            "actor": actor_user_id,
        },
    )
    variant_values = dict(row.variant)
    movement_values = dict(row.movement)
    variant_values["deleted_at"] = _timestamp(variant_values["deleted_at"])
    movement_values["created_at"] = _timestamp(movement_values["created_at"])
    return VariantRecord(**variant_values), MovementRecord(**movement_values)


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def movements_of(conn: AsyncConnection, variant_id: int, limit: int) -> list[MovementRecord]:
    result = await conn.execute(
        text(
            f"SELECT {_MOVEMENT} FROM inventory_movements"  # noqa: S608
            " WHERE variant_id = :id ORDER BY id DESC LIMIT :limit"
        ),
        {"id": variant_id, "limit": limit},
    )
    return [MovementRecord(**row._mapping) for row in result]


# ---------------------------------------------------------------- categories


async def category(conn: AsyncConnection, category_id: int, *, lock: bool = False) -> CategoryRecord | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await _one(conn, f"SELECT {_CATEGORY} FROM categories WHERE id = :id{suffix}", {"id": category_id})  # noqa: S608
    return CategoryRecord(**row._mapping) if row else None


async def category_by_slug(conn: AsyncConnection, slug: str) -> CategoryRecord | None:
    row = await _one(conn, f"SELECT {_CATEGORY} FROM categories WHERE slug = :slug", {"slug": slug})  # noqa: S608
    return CategoryRecord(**row._mapping) if row else None


async def is_ancestor_or_self(conn: AsyncConnection, category_id: int, of: int) -> bool:
    """Whether `category_id` is `of` or one of its ancestors."""
    row = await _one(
        conn,
        """
        WITH RECURSIVE up(id, parent_id) AS (
            SELECT id, parent_id FROM categories WHERE id = :of
            UNION
            SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id
        )
        SELECT 1 FROM up WHERE id = :candidate
        """,
        {"of": of, "candidate": category_id},
    )
    return row is not None


async def insert_category(conn: AsyncConnection, values: Mapping[str, Any]) -> CategoryRecord:
    row = await _one(
        conn,
        f"""
        INSERT INTO categories (slug, name, parent_id, position) VALUES (:slug, :name, :parent_id, :position)
        RETURNING {_CATEGORY}
        """,  # noqa: S608
        values,
    )
    return CategoryRecord(**row._mapping)


async def update_category(
    conn: AsyncConnection, category_id: int, changes: Mapping[str, Any]
) -> CategoryRecord:
    row = await _one(
        conn,
        f"UPDATE categories SET {_sets(changes)} WHERE id = :category_id RETURNING {_CATEGORY}",  # noqa: S608
        {**changes, "category_id": category_id},
    )
    return CategoryRecord(**row._mapping)


async def category_contents(conn: AsyncConnection, category_id: int) -> tuple[int, int]:
    """How many sub-categories and live (not soft-deleted) products the category holds directly."""
    row = await _one(
        conn,
        """
        SELECT (SELECT count(*) FROM categories WHERE parent_id = :id) AS children,
               (SELECT count(*) FROM products WHERE category_id = :id AND deleted_at IS NULL) AS products
        """,
        {"id": category_id},
    )
    return row.children, row.products


async def delete_category(conn: AsyncConnection, category_id: int) -> None:
    """Soft-deleted products in it keep no category (the foreign key sets it NULL)."""
    await conn.execute(text("DELETE FROM categories WHERE id = :id"), {"id": category_id})


# ---------------------------------------------------------------- attributes


async def attribute(conn: AsyncConnection, attribute_id: int) -> AttributeRecord | None:
    row = await _one(conn, f"SELECT {_ATTRIBUTE} FROM attributes WHERE id = :id", {"id": attribute_id})  # noqa: S608
    return AttributeRecord(**row._mapping) if row else None


async def attributes_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, AttributeRecord]:
    result = await conn.execute(
        text(f"SELECT {_ATTRIBUTE} FROM attributes WHERE slug = ANY(CAST(:slugs AS text[]))"),  # noqa: S608
        {"slugs": list(slugs)},
    )
    return {row.slug: AttributeRecord(**row._mapping) for row in result}


async def insert_attribute(conn: AsyncConnection, values: Mapping[str, Any]) -> AttributeRecord:
    row = await _one(
        conn,
        f"""
        INSERT INTO attributes (slug, name, input_type, position)
        VALUES (:slug, :name, :input_type, :position)
        RETURNING {_ATTRIBUTE}
        """,  # noqa: S608
        values,
    )
    return AttributeRecord(**row._mapping)


async def values_of(conn: AsyncConnection, attribute_id: int) -> list[AttributeValueRecord]:
    result = await conn.execute(
        text(f"SELECT {_VALUE} FROM attribute_values WHERE attribute_id = :id ORDER BY position, id"),  # noqa: S608
        {"id": attribute_id},
    )
    return [AttributeValueRecord(**row._mapping) for row in result]


async def insert_value(conn: AsyncConnection, values: Mapping[str, Any]) -> AttributeValueRecord:
    row = await _one(
        conn,
        f"""
        INSERT INTO attribute_values (attribute_id, slug, name, position)
        VALUES (:attribute_id, :slug, :name,
                coalesce(:position, (SELECT coalesce(max(position) + 1, 0) FROM attribute_values
                                     WHERE attribute_id = :attribute_id)))
        RETURNING {_VALUE}
        """,  # noqa: S608
        values,
    )
    return AttributeValueRecord(**row._mapping)


async def replace_item_values(
    conn: AsyncConnection, owner: str, item_id: int, attribute_id: int, value_ids: Sequence[int]
) -> None:
    """An item's values of one attribute become exactly `value_ids` (owner: product or variant)."""
    assert owner in ("product", "variant")
    table = f"{owner}_attribute_values"
    await conn.execute(
        text(
            f"DELETE FROM {table} WHERE {owner}_id = :item AND attribute_id = :attribute"  # noqa: S608
            " AND NOT (value_id = ANY(CAST(:values AS bigint[])))"
        ),
        {"item": item_id, "attribute": attribute_id, "values": list(value_ids)},
    )
    if value_ids:
        await conn.execute(
            text(
                f"INSERT INTO {table} ({owner}_id, attribute_id, value_id)"
                " SELECT :item, :attribute, unnest(CAST(:values AS bigint[])) ON CONFLICT DO NOTHING"
            ),
            {"item": item_id, "attribute": attribute_id, "values": list(value_ids)},
        )


async def product_rows(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ProductRow]:
    """Products as the storefront shows them (price range from live variants), whatever their state."""
    statement = select(
        products.c.id,
        products.c.slug,
        products.c.name,
        products.c.description,
        products.c.category_id,
        products.c.images,
        products.c.created_at,
        products.c.min_price,
        products.c.max_price,
        products.c.in_stock,
    ).where(products.c.id.in_(list(ids)))
    return {row.id: product_row(row._mapping) for row in await conn.execute(statement)}
