"""Loading the demo catalog into the database: idempotent, in batches, at any size.

Rows that exist (by category slug, product slug or variant SKU) are left alone. Products go in
batches of `BATCH` per transaction, each batch as two statements over `unnest` of arrays, so a
million products take a few minutes and memory stays that of one batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import create_engine
from demo.catalog import SeedCategory, SeedProduct, iter_products, seed_categories
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
    """
)


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
    if new_variants:
        await conn.execute(
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
    return len(product_ids)


def _batches(products: Iterator[SeedProduct], size: int) -> Iterator[list[SeedProduct]]:
    while batch := list(islice(products, size)):
        yield batch


async def seed_demo_catalog(database_url: str, product_count: int, *, only_if_empty: bool) -> int:
    """Load the first `product_count` demo products; return how many were added.

    With `only_if_empty`, a catalog that has any product is left as it is. Each batch commits on
    its own, so a run that stops half-way is completed by running it again.
    """
    engine = create_engine(database_url, pool_size=1)
    added = done = 0
    try:
        async with engine.begin() as conn:
            await load_totals(conn)  # shipping, tax rates and codes, once (demo/totals.py)
        async with engine.begin() as conn:
            if only_if_empty and not await catalog_is_empty(conn):
                return 0
            await load_categories(conn, seed_categories())
        for batch in _batches(iter_products(product_count), BATCH):
            async with engine.begin() as conn:
                added += await load_products(conn, batch)
            done += len(batch)
            if product_count > BATCH:
                logger.info("demo catalog: %d of %d products (%d added)", done, product_count, added)
        return added
    finally:
        await engine.dispose()
