"""Attribute filters and facet counts of a product list, in PostgreSQL.

Kept apart from models.product_page, which only calls in: `attribute_condition` adds one
AttributeFilter to a page's WHERE, and `facet_counts` counts what the page's filters match, in
one statement over the same conditions (attribute values, own categories, price buckets, in stock).

An item "has" a value when the product carries it or one of its live variants does. Filters AND
across attributes and OR within one attribute's values, each at the product level (colour red and
size M: some variant is red and some variant is M). Facets count products, each once per value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    String,
    any_,
    bindparam,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from models.catalog import Product, ProductVariant
from models.catalog_admin import Attribute, AttributeValue, ProductAttributeValue, VariantAttributeValue
from models.compiled import CompiledRead, compiled_read, fetch

products = Product.__table__
variants = ProductVariant.__table__
attributes = Attribute.__table__
attribute_values = AttributeValue.__table__
product_values = ProductAttributeValue.__table__
variant_values = VariantAttributeValue.__table__

# Facets count at most this many matching products (the first found: the newest, or a search's
# first index matches); above, the counts are scaled to the planner's estimate of the matches
# and marked approximate, as Algolia ("exhaustiveFacetsCount": false) and Shopify do on large
# result sets. Counting all of a million products takes seconds.
FACETS_EXACT_UP_TO = 2_000
SEARCH_FACETS_EXACT_UP_TO = 1_000  # each of a search's matches is a visit to the table
# Lowest variant price buckets, in minor units: [0, 10), [10, 25) ... [2500, open).
PRICE_BOUNDS = (0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000)
MAX_ATTRIBUTE_FILTERS = 20
MAX_VALUES_PER_FILTER = 100


def attribute_condition(index: int) -> ColumnElement[bool]:
    """Products having any of the values `attribute_values_{index}` of attribute `attribute_{index}`."""
    wanted = (
        select(attribute_values.c.id)
        .join(attributes, attributes.c.id == attribute_values.c.attribute_id)
        .where(
            attributes.c.slug == bindparam(f"attribute_{index}", type_=String),
            attribute_values.c.slug == any_(bindparam(f"attribute_values_{index}", type_=ARRAY(String))),
        )
    )
    on_product = exists().where(
        product_values.c.product_id == products.c.id, product_values.c.value_id.in_(wanted)
    )
    on_variant = exists().where(
        variants.c.product_id == products.c.id,
        variants.c.deleted_at.is_(None),
        variant_values.c.variant_id == variants.c.id,
        variant_values.c.value_id.in_(wanted),
    )
    return or_(on_product, on_variant)


def attribute_values_of(filters: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for index, (attribute, slugs) in enumerate(filters):
        values[f"attribute_{index}"] = attribute
        values[f"attribute_values_{index}"] = list(slugs)
    return values


@dataclass(slots=True, frozen=True)
class ValueCount:
    attribute_id: int
    value_id: int
    count: int


@dataclass(slots=True, frozen=True)
class PriceBucketCount:
    min: int
    max: int | None
    count: int


@dataclass(slots=True, frozen=True)
class FacetCounts:
    values: list[ValueCount]  # by attribute, then value, in their positions
    categories: list[tuple[int, int]]  # (category id, products whose own category it is)
    price_buckets: list[PriceBucketCount]  # non-empty buckets, cheapest first
    in_stock: int
    # Whether these are counts of every matching product. Above FACETS_EXACT_UP_TO matches they
    # are the counts of the first ones found, scaled to the estimated number of matches.
    exact: bool = True
    counted: int = 0  # how many products were counted


def scaled(counts: FacetCounts, matches: int) -> FacetCounts:
    """`counts` of a sample of `counts.counted` products, scaled to `matches` products."""
    factor = max(matches, counts.counted) / max(counts.counted, 1)

    def scale(count: int) -> int:
        return max(1, round(count * factor)) if count else 0

    return FacetCounts(
        values=[ValueCount(v.attribute_id, v.value_id, scale(v.count)) for v in counts.values],
        categories=[(category, scale(count)) for category, count in counts.categories],
        price_buckets=[PriceBucketCount(b.min, b.max, scale(b.count)) for b in counts.price_buckets],
        in_stock=scale(counts.in_stock),
        exact=False,
        counted=counts.counted,
    )


def _facet_statement(matching: Select[Any]) -> Select[Any]:
    """`matching` selects id, category_id, min_price and quantity_available of the matching products."""
    found = matching.cte("matching")
    carried = union(
        select(product_values.c.product_id.label("product_id"), product_values.c.value_id).join(
            found, found.c.id == product_values.c.product_id
        ),
        select(variants.c.product_id, variant_values.c.value_id)
        .join(variants, variants.c.id == variant_values.c.variant_id)
        .join(found, found.c.id == variants.c.product_id)
        .where(variants.c.deleted_at.is_(None)),
    ).subquery("carried")
    value_counts = (
        select(
            literal("value").label("kind"),
            attribute_values.c.attribute_id.label("key"),
            attribute_values.c.id.label("sub"),
            func.count().label("count"),
            attributes.c.position.label("o1"),
            attribute_values.c.position.label("o2"),
        )
        .select_from(carried)
        .join(attribute_values, attribute_values.c.id == carried.c.value_id)
        .join(attributes, attributes.c.id == attribute_values.c.attribute_id)
        .group_by(
            attribute_values.c.attribute_id,
            attribute_values.c.id,
            attributes.c.position,
            attribute_values.c.position,
        )
    )
    category_counts = (
        select(
            literal("category"),
            found.c.category_id,
            null().cast(BigInteger),
            func.count(),
            literal(0),
            literal(0),
        )
        .where(found.c.category_id.is_not(None))
        .group_by(found.c.category_id)
    )
    bucket = func.width_bucket(found.c.min_price, bindparam("price_bounds", type_=ARRAY(Integer)))
    price_counts = select(
        literal("price"),
        bucket.cast(BigInteger),
        null().cast(BigInteger),
        func.count(),
        literal(0),
        literal(0),
    ).group_by(bucket)
    in_stock = select(
        literal("in_stock"),
        null().cast(BigInteger),
        null().cast(BigInteger),
        func.count().filter(found.c.quantity_available > 0),
        literal(0),
        literal(0),
    )
    counted = select(
        literal("counted"),
        null().cast(BigInteger),
        null().cast(BigInteger),
        func.count(),
        literal(0),
        literal(0),
    ).select_from(found)
    return union_all(value_counts, category_counts, price_counts, in_stock, counted)  # type: ignore[return-value]


async def explain_facets(
    conn: AsyncConnection, matching: Select[Any], values: dict[str, Any], options: str
) -> list[str]:
    """The plan of `facet_counts`' statement (for bench/ and the tests)."""
    passed = {**values, "price_bounds": list(PRICE_BOUNDS)}
    statement = _facet_statement(matching)
    read = compiled_read(conn, ("explain facets", str(statement)), lambda: statement, list(passed))
    explained = CompiledRead(f"EXPLAIN ({options}) {read.sql}", read.parameters, read.constants)
    return [row[0] for row in await fetch(conn, explained, passed)]


async def facet_counts(conn: AsyncConnection, matching: Select[Any], values: dict[str, Any]) -> FacetCounts:
    result = await conn.execute(_facet_statement(matching), {**values, "price_bounds": list(PRICE_BOUNDS)})
    rows = result.all()
    value_rows = sorted(
        (row for row in rows if row.kind == "value"), key=lambda row: (row.o1, row.key, row.o2, row.sub)
    )
    buckets = sorted((int(row.key), int(row.count)) for row in rows if row.kind == "price")
    return FacetCounts(
        values=[ValueCount(int(row.key), int(row.sub), int(row.count)) for row in value_rows],
        categories=sorted(
            ((int(row.key), int(row.count)) for row in rows if row.kind == "category"),
            key=lambda c: (-c[1], c[0]),
        ),
        price_buckets=[
            PriceBucketCount(
                PRICE_BOUNDS[index - 1], PRICE_BOUNDS[index] if index < len(PRICE_BOUNDS) else None, count
            )
            for index, count in buckets
            if index >= 1
        ],
        in_stock=next((int(row.count) for row in rows if row.kind == "in_stock"), 0),
        counted=next((int(row.count) for row in rows if row.kind == "counted"), 0),
    )
