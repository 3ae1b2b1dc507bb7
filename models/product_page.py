"""A page of products: filters, typo-tolerant search, sorting and keyset paging, in one statement.

The statement is compiled once per shape (models.compiled): every value that differs between
calls is a named parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import (
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
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from models.catalog_repository import (
    CategoryRow,
    ProductRow,
    VariantRow,
    categories,
    price_summary,
    product_row,
    product_select,
    products,
    storable,
)
from models.compiled import compiled_read, fetch
from models.product_facets import FacetCounts, attribute_condition, attribute_values_of, facet_counts

search_vector = column("search_vector")

SEARCH_MAX_WORDS = 8
SEARCH_MAX_WORD_LENGTH = 40
_WORD = re.compile(r"\w+", re.UNICODE)


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
    # (attribute slug, value slugs): AND across attributes, OR within one (models.product_facets).
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(slots=True, frozen=True)
class ProductPage:
    rows: list[ProductRow]
    sort_keys: list[tuple[Any, ...]]
    has_next_page: bool
    total_count: int | None
    # Read in the same statement when asked for, one entry per row.
    variants: list[list[VariantRow]] | None = None
    categories: list[CategoryRow | None] | None = None
    facets: FacetCounts | None = None  # when asked for: counts over every matching product


def search_words(text: str) -> tuple[str, ...]:
    """Split a shopper's search text into plain words: quotes, operators and SQL are just text."""
    words = [word.lower()[:SEARCH_MAX_WORD_LENGTH] for word in _WORD.findall(text.replace("_", " "))]
    return tuple(dict.fromkeys(words))[:SEARCH_MAX_WORDS]


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
        return [price_summary.c.min_price, products.c.id], False
    if order is ProductOrder.PRICE_DESC:
        return [price_summary.c.min_price, products.c.id], True
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
    with_facets: bool = False,
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
        category=None if query.category_slug is None else storable(query.category_slug),
        min_price=query.min_price is not None,
        max_price=query.max_price is not None,
        in_stock=query.in_stock,
        after=after is not None,
        with_total=with_total,
        with_variants=with_variants,
        with_category=with_category,
        limit=first + 1,
        attributes=len(query.attributes),
    )
    values: dict[str, Any] = {
        "category_slug": query.category_slug,
        "min_price": query.min_price,
        "max_price": query.max_price,
    }
    for index, (word, nearest) in enumerate(corrected):
        values[f"word_{index}"], values[f"nearest_{index}"] = word, nearest
    values.update(attribute_values_of(query.attributes))
    for index, value in enumerate(after or ()):
        values[f"after_{index}"] = value
    read = compiled_read(conn, shape, lambda: _page_statement(shape), list(values))
    result = await fetch(conn, read, values)
    facets = await facet_counts(conn, _matching(shape), values) if with_facets else None

    total_count = int(result[0]["total_count"]) if with_total else None
    rows = [row for row in result if row["id"] is not None] if with_total else result
    has_next = len(rows) > first
    rows = rows[:first]
    return ProductPage(
        rows=[product_row(row) for row in rows],
        sort_keys=[tuple(row[name] for name in _SORT_KEYS) for row in rows],
        has_next_page=has_next,
        total_count=total_count,
        variants=[_variant_rows(row["id"], row["variant_list"]) for row in rows] if with_variants else None,
        categories=[_page_category_row(row) for row in rows] if with_category else None,
        facets=facets,
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
    attributes: int = 0  # how many attribute filters (their slugs are parameters)


def _filter_conditions(
    shape: _PageShape,
) -> tuple[list[ColumnElement[Any]], list[ColumnElement[Any]], ColumnElement[Any] | None]:
    """The page's WHERE: on products, on their price summaries, and the search rank (if searching)."""
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
        summary_conditions.append(price_summary.c.min_price >= bindparam("min_price", type_=Integer))
    if shape.max_price:
        summary_conditions.append(price_summary.c.min_price <= bindparam("max_price", type_=Integer))
    if shape.in_stock is not None:
        in_stock = price_summary.c.quantity_available > 0
        summary_conditions.append(in_stock if shape.in_stock else ~in_stock)
    conditions.extend(attribute_condition(index) for index in range(shape.attributes))
    return conditions, summary_conditions, rank


def _matching(shape: _PageShape) -> Select[Any]:
    """Every product the page's filters match (no paging), with what facets count by."""
    conditions, summary_conditions, _ = _filter_conditions(shape)
    return (
        select(
            products.c.id,
            products.c.category_id,
            price_summary.c.min_price,
            price_summary.c.quantity_available,
        )
        .select_from(products.join(price_summary, true()))
        .where(products.c.is_active, *conditions, *summary_conditions)
    )


def _page_statement(shape: _PageShape) -> Select[Any]:
    conditions, summary_conditions, rank = _filter_conditions(shape)

    keys, descending = _sort_columns(shape.order, rank)
    page = product_select(
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
    counted = products.join(price_summary, true()) if summary_conditions else products
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
