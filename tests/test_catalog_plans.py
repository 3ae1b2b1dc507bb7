"""Every catalog shape is an index walk: no sequential scan on products, at a size where it would matter.

On a catalog of 20,000 products, analysed, PostgreSQL's planner would read the whole table for
an unindexed sort or filter. The shapes are the size sweep's (bench/shapes.py). The timings are
the benchmark's business (scripts/bench --sizes); here the plans and the statements count.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bench.shapes import SHAPES, Shape, page_arguments
from demo.load import seed_demo_catalog
from models.product_page import (
    TOTAL_COUNT_EXACT_UP_TO,
    ProductOrder,
    ProductQuery,
    explain_facets,
    explain_product_page,
    product_page,
    search_words,
)
from tests.support import own_engine

PRODUCTS = 20_000
# The bound of exact counting, as a share of the catalog as at 1,000,000 products and the
# default bound: counting half of this catalog, a sequential scan would be the right plan.
EXACT_UP_TO = 1_000


@pytest.fixture
async def large_catalog(database_url: str) -> str:
    await seed_demo_catalog(database_url, PRODUCTS, only_if_empty=False)
    engine = own_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE products"))
            await conn.execute(text("VACUUM ANALYZE product_variants"))
    finally:
        await engine.dispose()
    return database_url


async def _plan(database_url: str, shape: Shape) -> list[str]:
    engine = own_engine(database_url)
    try:
        async with engine.connect() as conn:
            query, order, after = await page_arguments(conn, shape)
            facets = (
                await explain_facets(conn, query, order, analyze=False) if shape.filter.get("facets") else []
            )
            return facets + await explain_product_page(
                conn,
                query,
                order,
                20,
                after,
                analyze=False,
                with_total=bool(shape.filter.get("total")),
                exact_count_up_to=EXACT_UP_TO,
            )
    finally:
        await engine.dispose()


async def test_no_shape_reads_the_whole_products_table(large_catalog: str) -> None:
    seq_scans = {}
    for shape in SHAPES:
        plan = await _plan(large_catalog, shape)
        scans = [line.strip() for line in plan if "Seq Scan on products" in line]
        if scans:
            seq_scans[shape.name] = plan
    assert not seq_scans, "\n\n".join(f"{name}:\n" + "\n".join(plan) for name, plan in seq_scans.items())

    # On the same catalog (seeding it is most of this test's time): totalCount is exact up to
    # the bound, an estimate from the planner's statistics above it.
    engine = own_engine(large_catalog)
    try:
        async with engine.connect() as conn:
            exact = (await conn.execute(text("SELECT count(*) FROM products WHERE is_active"))).scalar_one()
            assert exact > TOTAL_COUNT_EXACT_UP_TO
            shape = SHAPES[1]
            query, order, _ = await page_arguments(conn, shape)
            page = await product_page(conn, query, order, 20, None, with_total=True)
            assert page.total_count is not None and page.total_count > TOTAL_COUNT_EXACT_UP_TO
            assert abs(page.total_count - exact) <= exact * 0.1, (page.total_count, exact)

            leaf = next(s for s in SHAPES if s.filter.get("category_slug") == "fiction")
            query, order, _ = await page_arguments(conn, leaf)
            page = await product_page(conn, query, order, 20, None, with_total=True)
            in_leaf = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id"
                        " WHERE c.slug = 'fiction' AND p.is_active"
                    )
                )
            ).scalar_one()
            assert in_leaf <= TOTAL_COUNT_EXACT_UP_TO and page.total_count == in_leaf

            # Facets above their bound: counts of the newest FACETS_EXACT_UP_TO, scaled to the
            # estimate, close to the exact counts.
            page = await product_page(conn, ProductQuery(), ProductOrder.NEWEST, 1, None, with_facets=True)
            assert page.facets is not None and not page.facets.exact
            in_stock = (
                await conn.execute(text("SELECT count(*) FROM products WHERE is_active AND in_stock"))
            ).scalar_one()
            assert abs(page.facets.in_stock - in_stock) <= in_stock * 0.15, (page.facets.in_stock, in_stock)
            assert abs(sum(count for _, count in page.facets.categories) - exact) <= exact * 0.15

            # The misspelt search finds the "bluetooth speaker" products, newest first: the
            # name tier's window gives the same page as sorting every name match.
            words = search_words("blutooth speakr")
            page = await product_page(
                conn, ProductQuery(search_words=words), ProductOrder.RELEVANCE, 20, None
            )
            expected = (
                await conn.execute(
                    text(
                        "SELECT id FROM products WHERE is_active AND search_vector @@"
                        " to_tsquery('english', 'bluetooth:A & speaker:A')"
                        " ORDER BY created_at DESC, id DESC LIMIT 20"
                    )
                )
            ).scalars()
            assert [row.id for row in page.rows] == list(expected)
            assert len(page.rows) == 20
            assert all({"bluetooth", "speaker"} <= set(row.name.lower().split()) for row in page.rows)
    finally:
        await engine.dispose()
