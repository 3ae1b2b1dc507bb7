"""Reads of the catalog. Every function takes an open connection and returns plain rows.

List reads take many keys at once so that the GraphQL layer's DataLoaders can batch them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    cast,
    column,
    false,
    func,
    literal,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from models.catalog import Category, Product, ProductVariant

categories = Category.__table__
products = Product.__table__
variants = ProductVariant.__table__
search_vector = column("search_vector")

SEARCH_MAX_WORDS = 8
SEARCH_MAX_WORD_LENGTH = 40
_WORD = re.compile(r"\w+", re.UNICODE)


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


class ProductOrder(Enum):
    RELEVANCE = "RELEVANCE"
    NEWEST = "NEWEST"
    NAME = "NAME"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"


@dataclass(slots=True, frozen=True)
class ProductQuery:
    search_words: tuple[str, ...] = ()
    category_slug: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None


@dataclass(slots=True, frozen=True)
class ProductPage:
    rows: list[ProductRow]
    sort_keys: list[tuple[Any, ...]]
    has_next_page: bool
    total_count: int | None
    # Read in the same statement when asked for, one entry per row.
    variants: list[list[VariantRow]] | None = None
    categories: list[CategoryRow | None] | None = None


def search_words(text: str) -> tuple[str, ...]:
    """Split a shopper's search text into plain words: quotes, operators and SQL are just text."""
    words = [word.lower()[:SEARCH_MAX_WORD_LENGTH] for word in _WORD.findall(text.replace("_", " "))]
    return tuple(dict.fromkeys(words))[:SEARCH_MAX_WORDS]


# ---------------------------------------------------------------- products

_price_summary = (
    select(
        func.coalesce(func.min(variants.c.price), 0).label("min_price"),
        func.coalesce(func.max(variants.c.price), 0).label("max_price"),
        func.coalesce(func.sum(variants.c.stock - variants.c.reserved), 0).label("quantity_available"),
    )
    .where(variants.c.product_id == products.c.id)
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
    .where(variants.c.product_id == products.c.id)
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
    _price_summary.c.min_price,
    _price_summary.c.max_price,
    _price_summary.c.quantity_available,
)


def _product_select(
    *extra: ColumnElement[Any], with_variants: bool = False, with_category: bool = False
) -> Select[Any]:
    joined = products.join(_price_summary, true())
    columns = [*_product_columns, *extra]
    if with_variants:
        joined = joined.join(_variant_list, true())
        columns.append(_variant_list.c.variant_list)
    if with_category:
        joined = joined.outerjoin(_page_category, _page_category.c.id == products.c.category_id)
        columns.extend(_page_category_columns)
    return select(*columns).select_from(joined).where(products.c.is_active)


def _product_row(row: Any) -> ProductRow:
    return ProductRow(
        id=row.id,
        slug=row.slug,
        name=row.name,
        description=row.description,
        category_id=row.category_id,
        images=row.images,
        created_at=row.created_at,
        min_price=int(row.min_price),
        max_price=int(row.max_price),
        quantity_available=int(row.quantity_available),
    )


async def products_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ProductRow]:
    result = await conn.execute(_product_select().where(products.c.id.in_(ids)))
    return {row.id: _product_row(row) for row in result}


def _storable(text: str) -> bool:
    """PostgreSQL text cannot hold NUL: a key with one names nothing, and must not reach SQL."""
    return "\x00" not in text


async def products_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, ProductRow]:
    slugs = [slug for slug in slugs if _storable(slug)]
    if not slugs:
        return {}
    result = await conn.execute(_product_select().where(products.c.slug.in_(slugs)))
    return {row.slug: _product_row(row) for row in result}


async def correct_search_words(conn: AsyncConnection, words: Sequence[str]) -> list[tuple[str, str | None]]:
    """Pair each word with the nearest word of the catalog's lexicon, for typo tolerance."""
    if not words:
        return []
    sql = """
        SELECT word,
               (SELECT term FROM search_terms
                WHERE term % word
                ORDER BY term <-> word, term
                LIMIT 1) AS nearest
        FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(word, position)
        ORDER BY position
    """
    result = await conn.execute(text(sql), {"words": list(words)})
    return [(row.word, row.nearest) for row in result]


def _search_query(corrected: Sequence[tuple[str, str | None]]) -> ColumnElement[Any]:
    """AND of the words, each word OR its nearest lexicon word, as a tsquery."""
    english = cast(literal("english"), REGCONFIG)
    query: ColumnElement[Any] | None = None
    for word, nearest in corrected:
        term = func.plainto_tsquery(english, word)
        if nearest and nearest != word:
            term = term.op("||")(func.plainto_tsquery(english, nearest))
        query = term if query is None else query.op("&&")(term)
    assert query is not None
    return query


def _sort_columns(
    order: ProductOrder, rank: ColumnElement[Any] | None
) -> tuple[list[ColumnElement[Any]], bool]:
    """The keyset of an order: its key columns (ending with the id) and whether it descends."""
    if order is ProductOrder.RELEVANCE and rank is not None:
        return [rank, products.c.id], True
    if order is ProductOrder.NAME:
        return [products.c.name, products.c.id], False
    if order is ProductOrder.PRICE_ASC:
        return [_price_summary.c.min_price, products.c.id], False
    if order is ProductOrder.PRICE_DESC:
        return [_price_summary.c.min_price, products.c.id], True
    return [products.c.created_at, products.c.id], True


async def product_page(
    conn: AsyncConnection,
    query: ProductQuery,
    order: ProductOrder,
    first: int,
    after: Sequence[Any] | None,
    *,
    with_total: bool = True,
    with_variants: bool = False,
    with_category: bool = False,
) -> ProductPage:
    """One page of products by keyset: `after` is the sort key of the last product seen.

    The total is counted only when asked for, and without the price summaries unless a
    filter needs them, since counting visits every matching product. The products' variants
    and categories come in the same statement when asked for.
    """
    conditions: list[ColumnElement[Any]] = []
    summary_conditions: list[ColumnElement[Any]] = []
    rank: ColumnElement[Any] | None = None
    if query.search_words:
        tsquery = _search_query(await correct_search_words(conn, query.search_words))
        conditions.append(search_vector.op("@@")(tsquery))
        rank = cast(func.ts_rank_cd(search_vector, tsquery), Float)
    if query.category_slug is not None and not _storable(query.category_slug):
        conditions.append(false())
    elif query.category_slug is not None:
        subtree = select(categories.c.id).where(categories.c.slug == query.category_slug).cte(recursive=True)
        children = categories.alias("children")
        subtree = subtree.union(select(children.c.id).where(children.c.parent_id == subtree.c.id))
        conditions.append(products.c.category_id.in_(select(subtree.c.id)))
    if query.min_price is not None:
        summary_conditions.append(_price_summary.c.min_price >= query.min_price)
    if query.max_price is not None:
        summary_conditions.append(_price_summary.c.min_price <= query.max_price)
    if query.in_stock is not None:
        in_stock = _price_summary.c.quantity_available > 0
        summary_conditions.append(in_stock if query.in_stock else ~in_stock)

    keys, descending = _sort_columns(order, rank)
    page = _product_select(
        *[key.label(f"sort_key_{i}") for i, key in enumerate(keys)],
        with_variants=with_variants,
        with_category=with_category,
    ).where(*conditions, *summary_conditions)
    if after is not None:
        position = tuple_(*keys)
        bound = tuple_(*[literal(value) for value in after])
        page = page.where(position < bound if descending else position > bound)
    page = page.order_by(*[key.desc() if descending else key.asc() for key in keys]).limit(first + 1)

    if with_total:
        counted = products.join(_price_summary, true()) if summary_conditions else products
        total = (
            select(func.count())
            .select_from(counted)
            .where(products.c.is_active, *conditions, *summary_conditions)
            .scalar_subquery()
            .label("total_count")
        )
        page_sub = page.subquery("page")
        statement = select(total, page_sub).select_from(
            select(literal(1).label("one")).subquery("anchor").outerjoin(page_sub, true())
        )
    else:
        statement = page

    result = (await conn.execute(statement)).all()
    total_count = int(result[0].total_count) if with_total else None
    rows = [row for row in result if row.id is not None] if with_total else list(result)
    has_next = len(rows) > first
    rows = rows[:first]
    key_names = [f"sort_key_{i}" for i in range(len(keys))]
    return ProductPage(
        rows=[_product_row(row) for row in rows],
        sort_keys=[tuple(row._mapping[name] for name in key_names) for row in rows],
        has_next_page=has_next,
        total_count=total_count,
        variants=[_variant_rows(row.id, row.variant_list) for row in rows] if with_variants else None,
        categories=[_page_category_row(row) for row in rows] if with_category else None,
    )


def _variant_rows(product_id: int, variant_list: list[list[Any]] | None) -> list[VariantRow]:
    return [
        VariantRow(variant_id, product_id, sku, name, price, quantity_available=available)
        for variant_id, sku, name, price, available in variant_list or ()
    ]


def _page_category_row(row: Any) -> CategoryRow | None:
    if row.category_id is None or row.category_slug is None:
        return None
    return CategoryRow(
        id=row.category_id, parent_id=row.category_parent_id, slug=row.category_slug, name=row.category_name
    )


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
        .where(variants.c.product_id.in_(product_ids))
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
        .where(variants.c.id.in_(ids), products.c.is_active)
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
