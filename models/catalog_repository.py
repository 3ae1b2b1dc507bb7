"""Reads of the catalog. Every function takes an open connection and returns plain rows.

List reads take many keys at once so that the GraphQL layer's DataLoaders can batch them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from models.catalog import Category, Product, ProductVariant
from models.compiled import compiled_read, fetch

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


def _product_row(row: Mapping[str, Any]) -> ProductRow:
    return ProductRow(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        category_id=row["category_id"],
        images=row["images"],
        created_at=row["created_at"],
        min_price=int(row["min_price"]),
        max_price=int(row["max_price"]),
        quantity_available=int(row["quantity_available"]),
    )


async def products_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ProductRow]:
    result = await conn.execute(_product_select().where(products.c.id.in_(ids)))
    return {row.id: _product_row(row._mapping) for row in result}


def _storable(text: str) -> bool:
    """PostgreSQL text cannot hold NUL: a key with one names nothing, and must not reach SQL."""
    return "\x00" not in text


async def products_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> dict[str, ProductRow]:
    slugs = [slug for slug in slugs if _storable(slug)]
    if not slugs:
        return {}
    result = await conn.execute(_product_select().where(products.c.slug.in_(slugs)))
    return {row.slug: _product_row(row._mapping) for row in result}


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


def _search_query(
    words: Sequence[tuple[ColumnElement[str], ColumnElement[str] | None]],
) -> ColumnElement[Any]:
    """AND of the words, each word OR its nearest lexicon word (when it has one), as a tsquery."""
    english = cast(literal("english"), REGCONFIG)
    query: ColumnElement[Any] | None = None
    for word, nearest in words:
        term = func.plainto_tsquery(english, word)
        if nearest is not None:
            term = term.op("||")(func.plainto_tsquery(english, nearest))
        query = term if query is None else query.op("&&")(term)
    assert query is not None
    return query


# A page's rows carry their keyset under these names: the sort column, then the id.
_SORT_KEYS = ("sort_key_0", "sort_key_1")


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
    corrected = await correct_search_words(conn, query.search_words) if query.search_words else []
    shape = _PageShape(
        order=order,
        search=tuple(bool(nearest and nearest != word) for word, nearest in corrected),
        category=None if query.category_slug is None else _storable(query.category_slug),
        min_price=query.min_price is not None,
        max_price=query.max_price is not None,
        in_stock=query.in_stock,
        after=after is not None,
        with_total=with_total,
        with_variants=with_variants,
        with_category=with_category,
        limit=first + 1,
    )
    values: dict[str, Any] = {
        "category_slug": query.category_slug,
        "min_price": query.min_price,
        "max_price": query.max_price,
    }
    for index, (word, nearest) in enumerate(corrected):
        values[f"word_{index}"], values[f"nearest_{index}"] = word, nearest
    for index, value in enumerate(after or ()):
        values[f"after_{index}"] = value
    read = compiled_read(conn, shape, lambda: _page_statement(shape), list(values))
    result = await fetch(conn, read, values)

    total_count = int(result[0]["total_count"]) if with_total else None
    rows = [row for row in result if row["id"] is not None] if with_total else result
    has_next = len(rows) > first
    rows = rows[:first]
    return ProductPage(
        rows=[_product_row(row) for row in rows],
        sort_keys=[tuple(row[name] for name in _SORT_KEYS) for row in rows],
        has_next_page=has_next,
        total_count=total_count,
        variants=[_variant_rows(row["id"], row["variant_list"]) for row in rows] if with_variants else None,
        categories=[_page_category_row(row) for row in rows] if with_category else None,
    )


@dataclass(slots=True, frozen=True)
class _PageShape:
    """What decides the SQL text of a page; every value in it is a named parameter."""

    order: ProductOrder
    search: tuple[bool, ...]  # per search word: whether it also matches a nearest lexicon word
    category: bool | None  # None: no category filter; False: a slug that cannot exist
    min_price: bool
    max_price: bool
    in_stock: bool | None
    after: bool
    with_total: bool
    with_variants: bool
    with_category: bool
    # In the SQL text, not a parameter: with `LIMIT $n` PostgreSQL planned every execution of
    # the prepared statement anew (a custom plan), which cost it more than running the query.
    limit: int


def _page_statement(shape: _PageShape) -> Select[Any]:
    conditions: list[ColumnElement[Any]] = []
    summary_conditions: list[ColumnElement[Any]] = []
    rank: ColumnElement[Any] | None = None
    if shape.search:
        tsquery = _search_query(
            [
                (
                    bindparam(f"word_{i}", type_=String),
                    bindparam(f"nearest_{i}", type_=String) if near else None,
                )
                for i, near in enumerate(shape.search)
            ]
        )
        conditions.append(search_vector.op("@@")(tsquery))
        rank = cast(func.ts_rank_cd(search_vector, tsquery), Float)
    if shape.category is False:
        conditions.append(false())
    elif shape.category:
        wanted = bindparam("category_slug", type_=String)
        subtree = select(categories.c.id).where(categories.c.slug == wanted).cte(recursive=True)
        children = categories.alias("children")
        subtree = subtree.union(select(children.c.id).where(children.c.parent_id == subtree.c.id))
        conditions.append(products.c.category_id.in_(select(subtree.c.id)))
    if shape.min_price:
        summary_conditions.append(_price_summary.c.min_price >= bindparam("min_price", type_=Integer))
    if shape.max_price:
        summary_conditions.append(_price_summary.c.min_price <= bindparam("max_price", type_=Integer))
    if shape.in_stock is not None:
        in_stock = _price_summary.c.quantity_available > 0
        summary_conditions.append(in_stock if shape.in_stock else ~in_stock)

    keys, descending = _sort_columns(shape.order, rank)
    page = _product_select(
        *[key.label(name) for name, key in zip(_SORT_KEYS, keys, strict=True)],
        with_variants=shape.with_variants,
        with_category=shape.with_category,
    ).where(*conditions, *summary_conditions)
    if shape.after:
        position = tuple_(*keys)
        bound = tuple_(*[bindparam(f"after_{i}", type_=key.type) for i, key in enumerate(keys)])
        page = page.where(position < bound if descending else position > bound)
    page = page.order_by(*[key.desc() if descending else key.asc() for key in keys]).limit(
        literal_column(str(int(shape.limit)))
    )
    if not shape.with_total:
        return page
    counted = products.join(_price_summary, true()) if summary_conditions else products
    total = (
        select(func.count())
        .select_from(counted)
        .where(products.c.is_active, *conditions, *summary_conditions)
        .scalar_subquery()
        .label("total_count")
    )
    page_sub = page.subquery("page")
    return select(total, page_sub).select_from(
        select(literal(1).label("one")).subquery("anchor").outerjoin(page_sub, true())
    )


def _variant_rows(product_id: int, variant_list: list[list[Any]] | None) -> list[VariantRow]:
    return [
        VariantRow(variant_id, product_id, sku, name, price, quantity_available=available)
        for variant_id, sku, name, price, available in variant_list or ()
    ]


def _page_category_row(row: Mapping[str, Any]) -> CategoryRow | None:
    if row["category_id"] is None or row["category_slug"] is None:
        return None
    return CategoryRow(
        id=row["category_id"],
        parent_id=row["category_parent_id"],
        slug=row["category_slug"],
        name=row["category_name"],
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
