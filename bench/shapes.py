"""Every catalog shape of the contract, for the size sweep: as GraphQL bodies and as page queries.

The same list drives the HTTP timings (bench/sizes.py), the plans kept in bench/plans-*.md
(`python -m bench.shapes DATABASE_URL`: EXPLAIN (ANALYZE, BUFFERS) of each page statement) and
tests/test_catalog_plans.py (no sequential scan on products for any of them).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.workloads import PRODUCT_FIELDS

COMMON_WORD = "wireless"
MISSPELT = "blutooth speakr"
CATEGORY_TREE = "electronics"  # has sub-categories
LEAF_CATEGORY = "fiction"


@dataclass(frozen=True)
class Shape:
    name: str
    arguments: str  # of products(...), after `first: 20`
    filter: dict[str, Any] = field(default_factory=dict)  # as ProductQuery keywords
    sort: str | None = None
    deep: bool = False  # `after` a cursor half-way down the list


SHAPES: tuple[Shape, ...] = (
    Shape("first page (newest)", ""),
    Shape("first page + totalCount", "", {"total": True}),
    Shape(
        f"category {CATEGORY_TREE} + sub-categories",
        f'filter: {{categorySlug: "{CATEGORY_TREE}"}}',
        {"category_slug": CATEGORY_TREE},
    ),
    Shape(
        f"category {LEAF_CATEGORY}, by name",
        f'filter: {{categorySlug: "{LEAF_CATEGORY}"}}, sort: NAME',
        {"category_slug": LEAF_CATEGORY},
        "NAME",
    ),
    Shape(
        "price 20-50 by price",
        "filter: {minPrice: 2000, maxPrice: 5000}, sort: PRICE_ASC",
        {"min_price": 2000, "max_price": 5000},
        "PRICE_ASC",
    ),
    Shape("price desc", "sort: PRICE_DESC", {}, "PRICE_DESC"),
    Shape("in stock", "filter: {inStock: true}", {"in_stock": True}),
    Shape("name sort", "sort: NAME", {}, "NAME"),
    Shape("rating sort", "sort: RATING", {}, "RATING"),
    Shape(
        f'search "{COMMON_WORD}" (common)',
        f'filter: {{search: "{COMMON_WORD}"}}',
        {"search": COMMON_WORD},
        "RELEVANCE",
    ),
    Shape(
        f'search "{MISSPELT}" (misspelt)',
        f'filter: {{search: "{MISSPELT}"}}',
        {"search": MISSPELT},
        "RELEVANCE",
    ),
    Shape(
        f'search "{COMMON_WORD}" + totalCount',
        f'filter: {{search: "{COMMON_WORD}"}}',
        {"search": COMMON_WORD, "total": True},
        "RELEVANCE",
    ),
    Shape("deep page (newest, half-way)", "", {}, None, True),
    Shape("deep page (name, half-way)", "sort: NAME", {}, "NAME", True),
    Shape("deep page (price, half-way) + totalCount", "sort: PRICE_ASC", {"total": True}, "PRICE_ASC", True),
    # Facets (counts over every matching product; exact up to FACETS_EXACT_UP_TO, scaled above).
    Shape("facets, whole catalog", "", {"total": True, "facets": True}),
    Shape(
        f"facets, category {CATEGORY_TREE}",
        f'filter: {{categorySlug: "{CATEGORY_TREE}"}}',
        {"category_slug": CATEGORY_TREE, "facets": True},
    ),
    Shape(
        f'facets, search "{COMMON_WORD}"',
        f'filter: {{search: "{COMMON_WORD}"}}',
        {"search": COMMON_WORD, "total": True, "facets": True},
        "RELEVANCE",
    ),
)

FACETS_FIELDS = (
    "facets { attributes { attribute { slug } values { value { slug } count } }"
    " categories { category { slug } count } priceBuckets { min { amount } max { amount } count } inStock }"
)


def graphql_query(shape: Shape, after: str | None) -> str:
    arguments = "first: 20" + (f", {shape.arguments}" if shape.arguments else "")
    if after is not None:
        arguments += f', after: "{after}"'
    total = " totalCount" if shape.filter.get("total") else ""
    if shape.filter.get("facets"):
        total += f" {FACETS_FIELDS}"
    return f"{{ products({arguments}) {{ edges {{ cursor node {{ {PRODUCT_FIELDS} }} }}{total} }} }}"


PRODUCT_BY_SLUG = "product(slug)"


async def deep_key(conn: AsyncConnection, sort: str | None) -> tuple[Any, ...]:
    """The sort key of the product half-way down the whole catalog in `sort`."""
    column = {"NAME": "name", "PRICE_ASC": "min_price"}.get(sort or "", "created_at")
    direction = "DESC" if column == "created_at" else "ASC"
    count = (await conn.execute(text("SELECT count(*) FROM products"))).scalar_one()
    row = (
        await conn.execute(
            text(
                f"SELECT {column} AS key, id FROM products WHERE is_active"
                f" ORDER BY {column} {direction}, id {direction} OFFSET :offset LIMIT 1"
            ),
            {"offset": count // 2},
        )
    ).one()
    return (row.key, row.id)


async def page_arguments(conn: AsyncConnection, shape: Shape) -> tuple[Any, Any, Any]:
    """ProductQuery, ProductOrder and `after` of a shape."""
    from models.product_page import ProductOrder, ProductQuery, search_words

    keywords = {key: value for key, value in shape.filter.items() if key not in ("total", "search", "facets")}
    query = ProductQuery(search_words=search_words(shape.filter.get("search", "")), **keywords)
    order = ProductOrder(shape.sort) if shape.sort else ProductOrder.NEWEST
    after = await deep_key(conn, shape.sort) if shape.deep else None
    return query, order, after


async def explain_all(database_url: str, shapes: Sequence[Shape] = SHAPES) -> list[tuple[Shape, list[str]]]:
    from core.db import create_engine
    from models.product_page import explain_facets, explain_product_page

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            plans = []
            for shape in shapes:
                query, order, after = await page_arguments(conn, shape)
                if shape.filter.get("facets"):  # the facet counts' statement (the page's is above)
                    lines = await explain_facets(conn, query, order)
                else:
                    lines = await explain_product_page(
                        conn, query, order, 20, after, with_total=bool(shape.filter.get("total"))
                    )
                plans.append((shape, lines))
            await conn.rollback()
        return plans
    finally:
        await engine.dispose()


async def time_model(database_url: str, rounds: int = 20) -> list[tuple[str, float, float]]:
    """Median and worst ms per shape through models.product_page, sequentially (no HTTP)."""
    from core.db import create_engine
    from models.product_page import product_page

    engine = create_engine(database_url)
    results = []
    try:
        async with engine.connect() as conn:
            for shape in SHAPES:
                query, order, after = await page_arguments(conn, shape)
                timings = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    await product_page(
                        conn,
                        query,
                        order,
                        20,
                        after,
                        with_total=bool(shape.filter.get("total")),
                        with_variants=True,
                        with_category=True,
                    )
                    timings.append((time.perf_counter() - started) * 1000)
                results.append((shape.name, statistics.median(timings), max(timings)))
            await conn.rollback()
    finally:
        await engine.dispose()
    return results


def main() -> None:
    database_url = sys.argv[1]
    for name, median, worst in asyncio.run(time_model(database_url)):
        print(f"{name:50s} p50 {median:7.1f} ms  max {worst:7.1f} ms")
    if "--plans" in sys.argv:
        for shape, lines in asyncio.run(explain_all(database_url)):
            print(f"\n### {shape.name}\n")
            print("\n".join(lines))


if __name__ == "__main__":
    main()
