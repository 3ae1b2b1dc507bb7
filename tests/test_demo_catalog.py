"""The demo catalog: generated deterministically from demo/catalog.json, loaded in batches at any size."""

from __future__ import annotations

from itertools import islice

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from demo import load
from demo.catalog import iter_products, seed_categories


def test_the_first_products_of_a_larger_catalog_are_the_smaller_catalog() -> None:
    assert list(islice(iter_products(600), 250)) == list(iter_products(250))


def test_every_product_has_a_unique_slug_and_sku_and_a_known_category() -> None:
    products = list(iter_products(2_000))
    categories = {category.slug for category in seed_categories()}
    skus = [variant.sku for product in products for variant in product.variants]
    assert len({product.slug for product in products}) == len(products)
    assert len(set(skus)) == len(skus)
    assert {product.category_slug for product in products} <= categories
    assert products[0].name == "Aurora Bluetooth Speaker"  # the search tests' first product


async def test_loading_in_batches_adds_what_is_missing_and_nothing_twice(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "BATCH", 128)  # several batches, the last one partial
    # The test database holds the first 320 products: a larger catalog adds the rest, batch by batch.
    assert await load.seed_demo_catalog(database_url, 500, only_if_empty=False) == 180
    assert await load.seed_demo_catalog(database_url, 700, only_if_empty=False) == 200
    assert await load.seed_demo_catalog(database_url, 700, only_if_empty=False) == 0
    assert await load.seed_demo_catalog(database_url, 900, only_if_empty=True) == 0

    expected = list(iter_products(700))
    conn = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
    try:
        rows = await conn.fetch(
            "SELECT p.slug, c.slug AS category, array_agg(v.sku ORDER BY v.position) AS skus,"
            " sum(v.stock) AS stock FROM products p JOIN categories c ON c.id = p.category_id"
            " JOIN product_variants v ON v.product_id = p.id GROUP BY p.id, c.slug ORDER BY p.id"
        )
        # The lexicon's pending index entries were merged by the load, not left to autovacuum.
        vacuumed = await conn.fetchval(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'search_terms'"
        )
    finally:
        await conn.close()
    assert [(row["slug"], row["category"], row["skus"], row["stock"]) for row in rows] == [
        (
            product.slug,
            product.category_slug,
            [variant.sku for variant in product.variants],
            sum(variant.stock for variant in product.variants),
        )
        for product in expected
    ]
    assert vacuumed >= 2  # once by each load that added products
