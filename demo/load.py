"""Loading the demo catalog into the database: idempotent, in batches, at any size.

Rows that exist (by category slug, product slug or variant SKU) are left alone. Products go in
batches of `BATCH` per transaction, each batch as two statements over `unnest` of arrays, so a
million products take a few minutes and memory stays that of one batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import create_engine
from demo.catalog import (
    SeedCategory,
    SeedProduct,
    iter_products,
    seed_attributes,
    seed_categories,
    value_slug,
)
from demo.totals import load_totals

logger = logging.getLogger("demo")

BATCH = 5_000

_INSERT_CATEGORY = text(
    """
    INSERT INTO categories (slug, name, parent_id, position)
    VALUES (:slug, :name, (SELECT id FROM categories WHERE slug = :parent_slug), :position)
    ON CONFLICT (slug) DO NOTHING
    """
)
_INSERT_PRODUCTS = text(
    """
    INSERT INTO products (slug, name, description, category_id, images, created_at,
                          min_price, max_price, in_stock)
    SELECT p.slug, p.name, p.description, c.id, p.images::jsonb, p.created_at,
           p.min_price, p.max_price, p.in_stock
    FROM unnest(
        CAST(:slug AS text[]), CAST(:name AS text[]), CAST(:description AS text[]),
        CAST(:category_slug AS text[]), CAST(:images AS text[]), CAST(:created_at AS timestamptz[]),
        CAST(:min_price AS integer[]), CAST(:max_price AS integer[]), CAST(:in_stock AS boolean[])
    ) WITH ORDINALITY AS p(slug, name, description, category_slug, images, created_at,
                           min_price, max_price, in_stock, n)
    JOIN categories AS c ON c.slug = p.category_slug
    ORDER BY p.n  -- ids in the catalog's order
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, slug
    """
)
_INSERT_VARIANTS = text(
    """
    INSERT INTO product_variants (product_id, sku, name, price, stock, position)
    SELECT * FROM unnest(
        CAST(:product_id AS bigint[]), CAST(:sku AS text[]), CAST(:name AS text[]),
        CAST(:price AS integer[]), CAST(:stock AS integer[]), CAST(:position AS integer[])
    )
    ON CONFLICT (sku) DO NOTHING
    RETURNING id, sku
    """
)
_INSERT_ATTRIBUTE = text(
    """
    INSERT INTO attributes (slug, name, input_type, position) VALUES (:slug, :name, :input_type, :position)
    ON CONFLICT (slug) DO NOTHING
    """
)
_INSERT_VALUES = text(
    """
    INSERT INTO attribute_values (attribute_id, slug, name, position)
    SELECT a.id, v.slug, v.name, v.position - 1
    FROM attributes a,
         unnest(CAST(:slugs AS text[]), CAST(:names AS text[])) WITH ORDINALITY AS v(slug, name, position)
    WHERE a.slug = :attribute
    ON CONFLICT (attribute_id, slug) DO NOTHING
    """
)
# The values each new product or variant carries, by (item id, attribute slug, value slug).
_ITEM_VALUES = """
    INSERT INTO {owner}_attribute_values ({owner}_id, attribute_id, value_id)
    SELECT i.item, v.attribute_id, v.id
    FROM unnest(CAST(:items AS bigint[]), CAST(:attributes AS text[]), CAST(:values AS text[]))
         AS i(item, attribute, value)
    JOIN attributes a ON a.slug = i.attribute
    JOIN attribute_values v ON v.attribute_id = a.id AND v.slug = i.value
    ON CONFLICT DO NOTHING
"""
_INSERT_PRODUCT_VALUES = text(_ITEM_VALUES.format(owner="product"))
_INSERT_VARIANT_VALUES = text(_ITEM_VALUES.format(owner="variant"))


async def catalog_is_empty(conn: AsyncConnection) -> bool:
    return (await conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM products)"))).scalar_one()


async def load_categories(conn: AsyncConnection, categories: Iterable[SeedCategory]) -> None:
    """Parents come before their children in `categories`."""
    for category in categories:
        await conn.execute(
            _INSERT_CATEGORY,
            {
                "slug": category.slug,
                "name": category.name,
                "parent_slug": category.parent_slug,
                "position": category.position,
            },
        )


async def load_attributes(conn: AsyncConnection) -> None:
    """The demo attributes (brand, colour, size, material) and every value they may take."""
    for position, (slug, (name, input_type, values)) in enumerate(seed_attributes().items()):
        await conn.execute(
            _INSERT_ATTRIBUTE, {"slug": slug, "name": name, "input_type": input_type, "position": position}
        )
        await conn.execute(
            _INSERT_VALUES,
            {
                "attribute": slug,
                "slugs": [value_slug(value) for value in values],
                "names": [value[:1].upper() + value[1:] for value in values],
            },
        )


async def _load_item_values(conn: AsyncConnection, statement: Any, items: list[tuple[int, str, str]]) -> None:
    if items:
        await conn.execute(
            statement,
            {
                "items": [item for item, _, _ in items],
                "attributes": [attribute for _, attribute, _ in items],
                "values": [value_slug(value) for _, _, value in items],
            },
        )


async def load_products(conn: AsyncConnection, products: list[SeedProduct]) -> int:
    """Insert the products that are missing and their variants; return how many products were added."""
    inserted = await conn.execute(
        _INSERT_PRODUCTS,
        {
            "slug": [product.slug for product in products],
            "name": [product.name for product in products],
            "description": [product.description for product in products],
            "category_slug": [product.category_slug for product in products],
            "images": [
                orjson.dumps([{"url": image.url, "alt": image.alt} for image in product.images]).decode()
                for product in products
            ],
            "created_at": [product.created_at for product in products],
            # What the variants' triggers would set (migration 0012): given here, the products
            # are written once, not inserted and then updated.
            "min_price": [min((v.price for v in product.variants), default=0) for product in products],
            "max_price": [max((v.price for v in product.variants), default=0) for product in products],
            "in_stock": [any(v.stock > 0 for v in product.variants) for product in products],
        },
    )
    product_ids = {row.slug: row.id for row in inserted}
    new_variants = [
        (product_ids[product.slug], variant)
        for product in products
        if product.slug in product_ids
        for variant in product.variants
    ]
    await _load_item_values(
        conn,
        _INSERT_PRODUCT_VALUES,
        [
            (product_ids[product.slug], attribute, value)
            for product in products
            if product.slug in product_ids
            for attribute, value in product.attributes
            if value
        ],
    )
    if new_variants:
        inserted_variants = await conn.execute(
            _INSERT_VARIANTS,
            {
                "product_id": [product_id for product_id, _ in new_variants],
                "sku": [variant.sku for _, variant in new_variants],
                "name": [variant.name for _, variant in new_variants],
                "price": [variant.price for _, variant in new_variants],
                "stock": [variant.stock for _, variant in new_variants],
                "position": [variant.position for _, variant in new_variants],
            },
        )
        variant_ids = {row.sku: row.id for row in inserted_variants}
        await _load_item_values(
            conn,
            _INSERT_VARIANT_VALUES,
            [
                (variant_ids[variant.sku], attribute, value)
                for _, variant in new_variants
                if variant.sku in variant_ids
                for attribute, value in variant.attributes
                if value
            ],
        )
    return len(product_ids)


def _batches(products: Iterator[SeedProduct], size: int) -> Iterator[list[SeedProduct]]:
    while batch := list(islice(products, size)):
        yield batch


async def seed_demo_catalog(
    database_url: str, product_count: int, *, only_if_empty: bool, behind_pooler: bool = False
) -> int:
    """Load the first `product_count` demo products; return how many were added.

    With `only_if_empty`, a catalog that has any product is left as it is. Each batch commits on
    its own, so a run that stops half-way is completed by running it again. `behind_pooler`: the
    URL is a pooler in transaction mode (core.db.create_engine).
    """
    engine = create_engine(database_url, pool_size=1, behind_pooler=behind_pooler)
    added = done = 0
    try:
        async with engine.begin() as conn:
            await load_totals(conn)  # shipping, tax rates and codes, once (demo/totals.py)
        async with engine.begin() as conn:
            if only_if_empty and not await catalog_is_empty(conn):
                return 0
            await load_categories(conn, seed_categories())
            await load_attributes(conn)
        for batch in _batches(iter_products(product_count), BATCH):
            async with engine.begin() as conn:
                added += await load_products(conn, batch)
            done += len(batch)
            if product_count > BATCH:
                logger.info("demo catalog: %d of %d products (%d added)", done, product_count, added)
        if added:
            # The lexicon's trigram index holds what was just added in its GIN pending list, which
            # every typo correction reads through (a search costs PostgreSQL some 3 ms more) until
            # autovacuum merges it, a minute or two later: merge it now.
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE search_terms")
        return added
    finally:
        await engine.dispose()
