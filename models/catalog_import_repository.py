"""Set-based reads and writes of a catalog import (domain.catalog_import).

Every statement takes a whole chunk of rows as arrays (`unnest`), so a chunk costs a handful of
statements whatever its size. Upserts change only rows whose values differ (`IS DISTINCT FROM`), so
importing the same file again writes nothing. The check constraints of the tables (price >= 0,
0 <= reserved <= stock) back every rule the import checks first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(slots=True, frozen=True)
class ExistingVariant:
    id: int
    sku: str
    product_slug: str
    stock: int
    reserved: int


@dataclass(slots=True, frozen=True)
class Upserted:
    inserted: int
    updated: int


async def start_import(conn: AsyncConnection) -> None:
    """Per-import scratch tables (dropped at commit or rollback): the SKUs and products seen so far,
    kept in the database rather than in memory so that a file of any size is checked for repeats."""
    await conn.execute(
        text("CREATE TEMP TABLE import_skus (sku text PRIMARY KEY, line integer NOT NULL) ON COMMIT DROP")
    )
    await conn.execute(
        text(
            "CREATE TEMP TABLE import_products"
            " (slug text PRIMARY KEY, digest text NOT NULL, line integer NOT NULL) ON COMMIT DROP"
        )
    )


async def repeated_skus(conn: AsyncConnection, skus: Sequence[str], lines: Sequence[int]) -> dict[str, int]:
    """Record the SKUs of a chunk; those seen in an earlier chunk, with the line they were first on."""
    result = await conn.execute(
        text(
            """
            WITH chunk AS (
                SELECT * FROM unnest(CAST(:sku AS text[]), CAST(:line AS integer[])) AS c(sku, line)
            ),
            earlier AS (SELECT s.sku, s.line FROM import_skus s JOIN chunk USING (sku)),
            added AS (INSERT INTO import_skus SELECT sku, line FROM chunk ON CONFLICT (sku) DO NOTHING)
            SELECT sku, line FROM earlier
            """
        ),
        {"sku": list(skus), "line": list(lines)},
    )
    return {row.sku: row.line for row in result}


async def differing_products(
    conn: AsyncConnection, slugs: Sequence[str], digests: Sequence[str], lines: Sequence[int]
) -> dict[str, int]:
    """Record each product's columns (as a digest); slugs an earlier chunk gave other columns, with
    the line that did."""
    result = await conn.execute(
        text(
            """
            WITH chunk AS (
                SELECT * FROM unnest(CAST(:slug AS text[]), CAST(:digest AS text[]), CAST(:line AS integer[]))
                AS c(slug, digest, line)
            ),
            earlier AS (
                SELECT p.slug, p.line FROM import_products p JOIN chunk c USING (slug)
                WHERE p.digest <> c.digest
            ),
            added AS (
                INSERT INTO import_products SELECT slug, digest, line FROM chunk ON CONFLICT (slug) DO NOTHING
            )
            SELECT slug, line FROM earlier
            """
        ),
        {"slug": list(slugs), "digest": list(digests), "line": list(lines)},
    )
    return {row.slug: row.line for row in result}


async def lock_existing_variants(conn: AsyncConnection, skus: Sequence[str]) -> dict[str, ExistingVariant]:
    """The variants these SKUs name, locked until the import commits (checkouts reserve meanwhile
    no more of them: their `reserved` is what the new stock is checked against)."""
    result = await conn.execute(
        text(
            """
            SELECT v.id, v.sku, p.slug AS product_slug, v.stock, v.reserved
            FROM product_variants v JOIN products p ON p.id = v.product_id
            WHERE v.sku = ANY(CAST(:sku AS text[]))
            FOR UPDATE OF v
            """
        ),
        {"sku": list(skus)},
    )
    return {
        row.sku: ExistingVariant(row.id, row.sku, row.product_slug, row.stock, row.reserved) for row in result
    }


async def category_ids(conn: AsyncConnection, slugs: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    """The ids of these category slugs, creating the missing ones (top level, with the name given)."""
    await conn.execute(
        text(
            """
            INSERT INTO categories (slug, name)
            SELECT slug, name FROM unnest(CAST(:slug AS text[]), CAST(:name AS text[])) AS c(slug, name)
            ON CONFLICT (slug) DO NOTHING
            """
        ),
        {"slug": list(slugs), "name": list(names)},
    )
    result = await conn.execute(
        text("SELECT slug, id FROM categories WHERE slug = ANY(CAST(:slug AS text[]))"), {"slug": list(slugs)}
    )
    return {row.slug: row.id for row in result}


async def upsert_products(
    conn: AsyncConnection, columns: dict[str, list[Any]]
) -> tuple[dict[str, int], Upserted]:
    """Insert or update products by slug; every slug's id, and how many were inserted and updated."""
    result = await conn.execute(
        text(
            """
            INSERT INTO products (slug, name, description, category_id, images, is_active)
            SELECT p.slug, p.name, p.description, p.category_id, p.images::jsonb, p.is_active
            FROM unnest(
                CAST(:slug AS text[]), CAST(:name AS text[]), CAST(:description AS text[]),
                CAST(:category_id AS bigint[]), CAST(:images AS text[]), CAST(:is_active AS boolean[])
            ) AS p(slug, name, description, category_id, images, is_active)
            ON CONFLICT (slug) DO UPDATE SET
                name = EXCLUDED.name, description = EXCLUDED.description,
                category_id = EXCLUDED.category_id, images = EXCLUDED.images, is_active = EXCLUDED.is_active,
                deleted_at = CASE WHEN EXCLUDED.is_active THEN NULL ELSE products.deleted_at END
            WHERE (products.name, products.description, products.category_id, products.images,
                   products.is_active)
                IS DISTINCT FROM
                (EXCLUDED.name, EXCLUDED.description, EXCLUDED.category_id, EXCLUDED.images,
                 EXCLUDED.is_active)
                OR (EXCLUDED.is_active AND products.deleted_at IS NOT NULL)  -- active again: restored
            RETURNING (xmax = 0) AS inserted
            """
        ),
        columns,
    )
    flags = [row.inserted for row in result]
    ids = await conn.execute(
        text("SELECT slug, id FROM products WHERE slug = ANY(CAST(:slug AS text[]))"),
        {"slug": columns["slug"]},
    )
    inserted = sum(flags)
    return {row.slug: row.id for row in ids}, Upserted(inserted=inserted, updated=len(flags) - inserted)


async def upsert_variants(
    conn: AsyncConnection, columns: dict[str, list[Any]]
) -> tuple[dict[str, int], Upserted]:
    """Insert or update (and restore) variants by SKU; the ids of those written, by SKU, and how
    many were inserted and updated."""
    result = await conn.execute(
        text(
            """
            INSERT INTO product_variants AS v (product_id, sku, name, price, stock, position)
            SELECT * FROM unnest(
                CAST(:product_id AS bigint[]), CAST(:sku AS text[]), CAST(:name AS text[]),
                CAST(:price AS integer[]), CAST(:stock AS integer[]), CAST(:position AS integer[])
            )
            ON CONFLICT (sku) DO UPDATE SET
                name = EXCLUDED.name, price = EXCLUDED.price, stock = EXCLUDED.stock,
                position = EXCLUDED.position, deleted_at = NULL
            WHERE (v.name, v.price, v.stock, v.position)
                IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.price, EXCLUDED.stock, EXCLUDED.position)
                OR v.deleted_at IS NOT NULL  -- named again: restored
            RETURNING id, sku, (xmax = 0) AS inserted
            """
        ),
        columns,
    )
    ids: dict[str, int] = {}
    inserted = 0
    for row in result:
        ids[row.sku] = row.id
        inserted += row.inserted
    return ids, Upserted(inserted=inserted, updated=len(ids) - inserted)


async def record_movements(
    conn: AsyncConnection,
    movements: list[tuple[int, int, int, str]],
    *,
    note: str,
    actor_user_id: int | None,
) -> None:
    """Ledger rows (inventory_movements) of stock the import set: (variant id, delta, quantity after,
    reason)."""
    await conn.execute(
        text(
            """
            INSERT INTO inventory_movements (variant_id, delta, quantity_after, reason, note, actor_user_id)
            SELECT m.variant_id, m.delta, m.quantity_after, m.reason, :note, :actor
            FROM unnest(
                CAST(:variant_id AS bigint[]), CAST(:delta AS integer[]), CAST(:quantity_after AS integer[]),
                CAST(:reason AS text[])
            ) AS m(variant_id, delta, quantity_after, reason)
            """
        ),
        {
            "variant_id": [movement[0] for movement in movements],
            "delta": [movement[1] for movement in movements],
            "quantity_after": [movement[2] for movement in movements],
            "reason": [movement[3] for movement in movements],
            "note": note,
            "actor": actor_user_id,
        },
    )


@dataclass(slots=True, frozen=True)
class ImportAttribute:
    id: int
    input_type: str


async def attributes_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, ImportAttribute]:
    result = await conn.execute(
        text("SELECT slug, id, input_type FROM attributes WHERE slug = ANY(CAST(:slug AS text[]))"),
        {"slug": list(slugs)},
    )
    return {row.slug: ImportAttribute(row.id, row.input_type) for row in result}


async def value_ids(conn: AsyncConnection, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The ids of these (attribute id, value slug) pairs, adding the values that are missing (named
    like their slug, as domain.catalog_attributes does for importers)."""
    params = {"attribute_id": [pair[0] for pair in pairs], "slug": [pair[1] for pair in pairs]}
    await conn.execute(
        text(
            """
            INSERT INTO attribute_values (attribute_id, slug, name, position)
            SELECT n.attribute_id, n.slug, n.slug,
                   (SELECT coalesce(max(position) + 1, 0) FROM attribute_values
                    WHERE attribute_id = n.attribute_id)
            FROM unnest(CAST(:attribute_id AS bigint[]), CAST(:slug AS text[])) AS n(attribute_id, slug)
            ON CONFLICT (attribute_id, slug) DO NOTHING
            """
        ),
        params,
    )
    result = await conn.execute(
        text(
            """
            SELECT v.attribute_id, v.slug, v.id FROM attribute_values v
            JOIN unnest(CAST(:attribute_id AS bigint[]), CAST(:slug AS text[])) AS n(attribute_id, slug)
              ON v.attribute_id = n.attribute_id AND v.slug = n.slug
            """
        ),
        params,
    )
    return {(row.attribute_id, row.slug): row.id for row in result}


async def replace_item_values(
    conn: AsyncConnection,
    owner: str,
    item_ids: Sequence[int],
    attribute_ids: Sequence[int],
    wanted: Sequence[tuple[int, int, int]],
) -> int:
    """Each item gets exactly the wanted values of these attributes (item id, attribute id, value
    id); how many value rows were added or removed."""
    table, key = (
        ("product_attribute_values", "product_id")
        if owner == "product"
        else (
            "variant_attribute_values",
            "variant_id",
        )
    )
    params = {
        "items": list(item_ids),
        "attributes": list(attribute_ids),
        "item": [entry[0] for entry in wanted],
        "attribute": [entry[1] for entry in wanted],
        "value": [entry[2] for entry in wanted],
    }
    removed = await conn.execute(
        text(
            f"""
            DELETE FROM {table} t
            WHERE t.{key} = ANY(CAST(:items AS bigint[]))
              AND t.attribute_id = ANY(CAST(:attributes AS bigint[]))
              AND NOT EXISTS (
                SELECT 1 FROM unnest(CAST(:item AS bigint[]), CAST(:value AS bigint[])) AS w(item, value)
                WHERE w.item = t.{key} AND w.value = t.value_id
              )
            """  # noqa: S608 (table and column names are constants)
        ),
        params,
    )
    added = await conn.execute(
        text(
            f"""
            INSERT INTO {table} ({key}, attribute_id, value_id)
            SELECT * FROM unnest(
                CAST(:item AS bigint[]), CAST(:attribute AS bigint[]), CAST(:value AS bigint[])
            )
            ON CONFLICT DO NOTHING
            """  # noqa: S608 (table and column names are constants)
        ),
        params,
    )
    return (removed.rowcount or 0) + (added.rowcount or 0)
