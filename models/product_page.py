"""A page of products: filters, typo-tolerant search, sorting and keyset paging, in one statement.

The statement is compiled once per shape (models.compiled): every value that differs between
calls is a named parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    String,
    any_,
    bindparam,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from models.catalog_repository import (
    CategoryRow,
    ProductRow,
    VariantRow,
    categories,
    product_row,
    product_select,
    products,
    storable,
)
from models.compiled import CompiledRead, Reads, compiled_read, fetch
from models.product_facets import (
    FACETS_EXACT_UP_TO,
    SEARCH_FACETS_EXACT_UP_TO,
    FacetCounts,
    attribute_condition,
    attribute_values_of,
    facet_counts,
    scaled,
)
from models.product_facets import explain_facets as explain_facet_statement
from models.product_json import Template, product_json

SEARCH_MAX_WORDS = 8
SEARCH_MAX_WORD_LENGTH = 40
_WORD = re.compile(r"\w+", re.UNICODE)


class ProductOrder(Enum):
    RELEVANCE = "RELEVANCE"
    NEWEST = "NEWEST"
    NAME = "NAME"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    RATING = "RATING"


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
    facets: FacetCounts | None = None  # when asked for: exact up to a bound (_facet_bound), scaled above


@dataclass(slots=True, frozen=True)
class ProductJsonPage:
    nodes: list[str]  # each product's JSON text
    ids: list[int]
    sort_keys: list[tuple[Any, ...]]
    has_next_page: bool
    total_count: int | None


def search_words(text: str) -> tuple[str, ...]:
    """Split a shopper's search text into plain words: quotes, operators and SQL are just text."""
    words = [word.lower()[:SEARCH_MAX_WORD_LENGTH] for word in _WORD.findall(text.replace("_", " "))]
    return tuple(dict.fromkeys(words))[:SEARCH_MAX_WORDS]


async def correct_search_words(conn: Reads, words: Sequence[str]) -> list[tuple[str, str | None]]:
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
    # Compiled once and run on the driver (models.compiled), as the page is: through SQLAlchemy's
    # execute it cost a search more CPU than the page's statement, and a `SELECT 1` (driver_of).
    read = compiled_read(
        conn,
        "correct_search_words",
        lambda: text(sql).bindparams(bindparam("words", type_=ARRAY(String))),
        ["words"],
    )
    return [(row["word"], row["nearest"]) for row in await fetch(conn, read, {"words": list(words)})]


def _search_query(
    words: Sequence[tuple[ColumnElement[str], ColumnElement[str] | None]], *, in_name: bool = False
) -> ColumnElement[Any]:
    """AND of the words, each word OR its nearest lexicon word (when it has one), as a tsquery.

    `in_name`: matching only the name's words, which search_vector holds with weight A. A word
    is one run of word characters (search_words, the lexicon), so quoted it is one lexeme.
    """
    # A constant of the statement's text: a cast of a parameter would be looked up per call
    # (a stable cast), so PostgreSQL could never fold the tsquery into a constant.
    english = literal_column("'english'::regconfig", REGCONFIG)

    def lexeme(word: ColumnElement[str]) -> ColumnElement[Any]:
        if in_name:
            return func.to_tsquery(english, func.quote_literal(word).op("||")(literal(":A")))
        return func.plainto_tsquery(english, word)

    query: ColumnElement[Any] | None = None
    for word, nearest in words:
        term = lexeme(word)
        if nearest is not None:
            term = term.op("||")(lexeme(nearest))
        query = term if query is None else query.op("&&")(term)
    assert query is not None
    return query


# How many matches `totalCount` counts exactly; above it, it is PostgreSQL's planner estimate
# (from the statistics ANALYZE keeps, rounded to hundreds), never below this bound. A search
# counts fewer exactly: each of its matches is a visit to the table.
TOTAL_COUNT_EXACT_UP_TO = 10_000
SEARCH_TOTAL_COUNT_EXACT_UP_TO = 1_000
# A search whose matches the planner estimates above this is not counted at all: `totalCount`
# is the estimate. PostgreSQL's statistics of lexemes make a word's estimate close (41,314 for
# 40,885 matches of "wireless" at 1,000,000 products); for several words it assumes they are
# independent, which errs low (251 for 8,422 of "bluetooth speaker"), so those are counted.
SEARCH_ESTIMATE_TRUSTED_ABOVE = 5 * SEARCH_TOTAL_COUNT_EXACT_UP_TO

# Relevance: products whose name holds every searched word (tier 2) come before those that
# match through their description only (tier 1); newest first within a tier. Unlike a rank
# computed per match (ts_rank), each tier is an ordered index walk, whatever a word's frequency.
NAME_TIER, DESCRIPTION_TIER = 2, 1
# How many of the newest products the name tier looks through before it reads every name match
# (`_name_tier`): a page of matches among them means the words are common (here 21 in 3,000, or
# at least 0.7 % of the catalog), and walking the window costs less than reading every match.
NAME_TIER_WINDOW = 3_000


def _sort_columns(order: ProductOrder, t: Any) -> tuple[list[ColumnElement[Any]], bool]:
    """The keyset of an order over the products table `t` (ending with the id) and its direction.

    Every order has an index of its keys, and one led by category_id (migration 0012). A new
    order (a rating, say) adds its keys here, a column kept on the product row and both indexes.
    """
    if order is ProductOrder.NAME:
        return [t.c.name, t.c.id], False
    if order is ProductOrder.PRICE_ASC:
        return [t.c.min_price, t.c.id], False
    if order is ProductOrder.PRICE_DESC:
        return [t.c.min_price, t.c.id], True
    if order is ProductOrder.RATING:  # average, then count, in one key (models.reviews); 0 unrated
        return [t.c.rating_key, t.c.id], True
    # NEWEST, and RELEVANCE within a tier
    return [t.c.created_at, t.c.id], True


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
    exact_count_up_to: int = TOTAL_COUNT_EXACT_UP_TO,
    with_facets: bool = False,
) -> ProductPage:
    """One page of products by keyset: `after` is the sort key of the last product seen.

    The total is counted only when asked for (exactly up to TOTAL_COUNT_EXACT_UP_TO, estimated
    above). The products' variants and categories come in the same statement when asked for.
    """
    shape, read, values = await _prepare(
        conn, query, order, first, after, with_total, with_variants, with_category, exact_count_up_to
    )
    shape, rows, has_next, total_count, estimate = await _page_rows(conn, shape, read, values, first)
    facets = await _facets(conn, shape, values, estimate) if with_facets else None
    key_names = _key_names(shape)
    return ProductPage(
        rows=[product_row(row) for row in rows],
        sort_keys=[tuple(row[name] for name in key_names) for row in rows],
        has_next_page=has_next,
        total_count=total_count,
        variants=[_variant_rows(row["id"], row["variant_list"]) for row in rows] if with_variants else None,
        categories=[_page_category_row(row) for row in rows] if with_category else None,
        facets=facets,
    )


async def product_page_json(
    conn: Reads,
    query: ProductQuery,
    order: ProductOrder,
    first: int,
    after: Sequence[Any] | None,
    node: Template,
    *,
    with_total: bool = True,
) -> ProductJsonPage:
    """`product_page`, each product as the JSON text of `node` (models.product_json) built by
    PostgreSQL: the same statements, the same products in the same order."""
    shape, read, values = await _prepare(
        conn, query, order, first, after, with_total, False, False, TOTAL_COUNT_EXACT_UP_TO, node
    )
    shape, rows, has_next, total_count, _ = await _page_rows(conn, shape, read, values, first)
    key_names = _key_names(shape)
    return ProductJsonPage(
        nodes=[row["node_json"] for row in rows],
        ids=[row["id"] for row in rows],
        sort_keys=[tuple(row[name] for name in key_names) for row in rows],
        has_next_page=has_next,
        total_count=total_count,
    )


async def _page_rows(
    conn: Reads, shape: _PageShape, read: CompiledRead, values: dict[str, Any], first: int
) -> tuple[_PageShape, list[Any], bool, int | None, int | None]:
    """The page's rows (at most `first`), whether more follow, the total when asked for, and the
    planner's estimate of the matches when one was made."""
    shape, read, total_count, estimate = await _uncounted_search(conn, shape, read, values)
    result = await fetch(conn, read, values)
    if shape.with_total:
        total_count = int(result[0]["total_count"])
        if total_count > shape.exact_count_up_to:
            total_count = _rounded_estimate(shape, await _estimated_rows(conn, shape, values))
    rows = [row for row in result if row["id"] is not None] if shape.with_total else result
    return shape, rows[:first], len(rows) > first, total_count, estimate


async def explain_product_page(
    conn: AsyncConnection,
    query: ProductQuery,
    order: ProductOrder,
    first: int,
    after: Sequence[Any] | None,
    *,
    analyze: bool = True,
    with_total: bool = True,
    with_variants: bool = True,
    with_category: bool = True,
    exact_count_up_to: int = TOTAL_COUNT_EXACT_UP_TO,
) -> list[str]:
    """The plan of the page's statement, as `product_page` runs it (for bench/ and the tests)."""
    prepared = await _prepare(
        conn, query, order, first, after, with_total, with_variants, with_category, exact_count_up_to
    )
    shape, read, values = prepared
    _, read, _, _ = await _uncounted_search(conn, shape, read, values)
    options = "ANALYZE, BUFFERS" if analyze else "COSTS"
    explained = CompiledRead(f"EXPLAIN ({options}) {read.sql}", read.parameters, read.constants)
    return [row[0] for row in await fetch(conn, explained, values)]


async def explain_facets(
    conn: AsyncConnection, query: ProductQuery, order: ProductOrder, *, analyze: bool = True
) -> list[str]:
    """The plan of the facet counts' statement of a page's filters (for bench/ and the tests)."""
    shape, _, values = await _prepare(
        conn, query, order, 20, None, False, False, False, TOTAL_COUNT_EXACT_UP_TO
    )
    options = "ANALYZE, BUFFERS" if analyze else "COSTS"
    if shape.category:
        values = {**values, "category_ids": await _subtree_ids(conn, values)}
    return await explain_facet_statement(conn, _facet_matching(shape), values, options)


async def _uncounted_search(
    conn: Reads, shape: _PageShape, read: CompiledRead, values: dict[str, Any]
) -> tuple[_PageShape, CompiledRead, int | None, int | None]:
    """A search counts its matches only when the planner expects few (else: its estimate, and
    the page without a count). Counting even a thousand of a common word's matches builds the
    full-text index's bitmap of every match first. Also returns the estimate when it was made."""
    if not (shape.with_total and shape.search):
        return shape, read, None, None
    estimate = await _estimated_rows(conn, shape, values)
    if estimate <= SEARCH_ESTIMATE_TRUSTED_ABOVE:
        return shape, read, None, estimate
    uncounted = replace(shape, with_total=False)
    read = compiled_read(conn, uncounted, lambda: _page_statement(uncounted), list(values))
    return uncounted, read, _rounded_estimate(shape, estimate), estimate


async def _prepare(
    conn: Reads,
    query: ProductQuery,
    order: ProductOrder,
    first: int,
    after: Sequence[Any] | None,
    with_total: bool,
    with_variants: bool,
    with_category: bool,
    exact_count_up_to: int,
    json_node: Template | None = None,
) -> tuple[_PageShape, CompiledRead, dict[str, Any]]:
    corrected = await correct_search_words(conn, query.search_words) if query.search_words else []
    if corrected:
        exact_count_up_to = min(exact_count_up_to, SEARCH_TOTAL_COUNT_EXACT_UP_TO)
    relevance = order is ProductOrder.RELEVANCE and bool(corrected)
    after_tier: int | None = None
    if after is not None and relevance:
        after_tier = NAME_TIER if after[0] >= NAME_TIER else DESCRIPTION_TIER
        after = after[1:]
    shape = _PageShape(
        order=order if relevance or order is not ProductOrder.RELEVANCE else ProductOrder.NEWEST,
        search=tuple(bool(nearest and nearest != word) for word, nearest in corrected),
        category=None if query.category_slug is None else storable(query.category_slug),
        min_price=query.min_price is not None,
        max_price=query.max_price is not None,
        in_stock=query.in_stock,
        after=after is not None,
        after_tier=after_tier,
        with_total=with_total,
        with_variants=with_variants,
        with_category=with_category,
        limit=first + 1,
        exact_count_up_to=exact_count_up_to,
        attributes=len(query.attributes),
        json_node=json_node,
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
    return shape, compiled_read(conn, shape, lambda: _page_statement(shape), list(values)), values


@dataclass(slots=True, frozen=True)
class _PageShape:
    """What decides the SQL text of a page; every value in it is a named parameter."""

    order: ProductOrder  # RELEVANCE only with a search
    search: tuple[bool, ...]  # per search word: whether it also matches a nearest lexicon word
    category: bool | None  # None: no category filter; False: a slug that cannot exist
    min_price: bool
    max_price: bool
    in_stock: bool | None
    after: bool
    after_tier: int | None  # RELEVANCE: the tier of the last product seen
    with_total: bool
    with_variants: bool
    with_category: bool
    # In the SQL text, not a parameter: with `LIMIT $n` PostgreSQL planned every execution of
    # the prepared statement anew (a custom plan), which cost it more than running the query.
    limit: int
    exact_count_up_to: int = TOTAL_COUNT_EXACT_UP_TO  # in the SQL text too
    attributes: int = 0  # how many attribute filters (their slugs are parameters)
    json_node: Template | None = None  # each product as this JSON (models.product_json), not columns


def _key_names(shape: _PageShape) -> list[str]:
    count = 3 if shape.order is ProductOrder.RELEVANCE else 2
    return [f"sort_key_{i}" for i in range(count)]


def _tsquery(shape: _PageShape, *, in_name: bool = False, once: bool = False) -> ColumnElement[Any]:
    """The search as a tsquery; `once`: computed once per statement (an InitPlan).

    Inline, the planner sees the words (it estimates their matches and picks the full-text
    index), but may parse them again for every row it checks, where the prepared statement's
    plan is generic. `once` is for a filter no index serves (the name tier's window).
    """
    query = _search_query_of(shape, in_name=in_name)
    return select(query).scalar_subquery() if once else query


def _search_query_of(shape: _PageShape, *, in_name: bool) -> ColumnElement[Any]:
    return _search_query(
        [
            (
                bindparam(f"word_{i}", type_=String),
                bindparam(f"nearest_{i}", type_=String) if near else None,
            )
            for i, near in enumerate(shape.search)
        ],
        in_name=in_name,
    )


def _name_matches(t: Any, shape: _PageShape) -> ColumnElement[bool]:
    """Every searched word (or its correction) is a word of the name (weight A of search_vector)."""
    return t.c.search_vector.bool_op("@@")(_tsquery(shape, in_name=True))


def _conditions(t: Any, shape: _PageShape, *, search: bool = True) -> list[ColumnElement[Any]]:
    """The filters of a page over the products table `t`, but the category's.

    A new filter (product attributes, say) adds its conditions here; it applies to the page,
    the count and the estimate alike.
    """
    conditions: list[ColumnElement[Any]] = [t.c.is_active]
    if shape.search and search:
        conditions.append(t.c.search_vector.bool_op("@@")(_tsquery(shape)))
    if shape.category is False:
        conditions.append(false())
    if shape.min_price:
        conditions.append(t.c.min_price >= bindparam("min_price", type_=Integer))
    if shape.max_price:
        conditions.append(t.c.min_price <= bindparam("max_price", type_=Integer))
    if shape.in_stock is not None:
        conditions.append(t.c.in_stock if shape.in_stock else ~t.c.in_stock)
    conditions.extend(attribute_condition(index) for index in range(shape.attributes))
    return conditions


def _category_subtree(name: str) -> Any:
    """The ids of the wanted category and its sub-categories, at any depth."""
    wanted = bindparam("category_slug", type_=String)
    subtree = select(categories.c.id).where(categories.c.slug == wanted).cte(name, recursive=True)
    children = categories.alias(f"{name}_children")
    return subtree.union(select(children.c.id).where(children.c.parent_id == subtree.c.id))


def _keyset(keys: list[ColumnElement[Any]], descending: bool) -> ColumnElement[bool]:
    position = tuple_(*keys)
    bound = tuple_(*[bindparam(f"after_{i}", type_=key.type) for i, key in enumerate(keys)])
    return position < bound if descending else position > bound


def _ordered(
    shape: _PageShape,
    extra: list[ColumnElement[Any]],
    keyset: bool,
    tier: int | None,
    *,
    search: bool = True,
) -> Select[Any]:
    """The ids and sort keys of the first `limit` products matching, in order, by an index walk.

    Within a category tree each category is walked on its own index (category_id first) and the
    walks are merged, so a small category costs as little as a large one.
    """
    keys, descending = _sort_columns(shape.order, products)
    direction = [key.desc() if descending else key.asc() for key in keys]
    conditions = [*_conditions(products, shape, search=search), *extra]
    if keyset:
        conditions.append(_keyset(keys, descending))
    leading = [] if tier is None else [literal(tier).label("sort_key_0")]
    offset = 0 if tier is None else 1
    labelled = [key.label(f"sort_key_{i + offset}") for i, key in enumerate(keys)]
    limit = literal_column(str(int(shape.limit)))
    if not shape.category:
        return select(products.c.id, *leading, *labelled).where(*conditions).order_by(*direction).limit(limit)
    subtree = _category_subtree(f"subtree_{tier or 0}")
    per_category = (
        select(products.c.id, *labelled)
        .where(products.c.category_id == subtree.c.id, *conditions)
        .order_by(*direction)
        .limit(limit)
        .lateral("per_category")
    )
    merged = [per_category.c[f"sort_key_{i + offset}"] for i in range(len(keys))]
    return (
        select(per_category.c.id, *leading, *merged)
        .select_from(subtree.join(per_category, true()))
        .order_by(*[key.desc() if descending else key.asc() for key in merged])
        .limit(limit)
    )


def _windowed(shape: _PageShape) -> bool:
    """Whether the name tier first looks among the newest products (see `_name_tier`)."""
    return not (shape.category or shape.min_price or shape.max_price or shape.attributes)


def _name_tier(shape: _PageShape) -> Any:
    """The page's products whose name holds the words, newest first, as a CTE.

    The full-text index finds every match but cannot give them newest first: ordering them
    reads each match from the table (8,400 for "bluetooth speaker" at 1,000,000 products). So
    the newest NAME_TIER_WINDOW products are walked first, in order, along ix_products_newest:
    when they hold a page of matches (a common word) that page is exact, since a newer match
    would be in the window. Only when they do not (a rarer word: fewer matches) are all the
    matches read through the index and sorted, as before.
    """
    name_match = _name_matches(products, shape)
    every_match = _ordered(shape, [name_match], shape.after, NAME_TIER, search=False)
    if not _windowed(shape):
        return every_match.cte("name_tier")
    keys, descending = _sort_columns(shape.order, products)
    conditions = _conditions(products, shape, search=False)
    if shape.after:
        conditions.append(_keyset(keys, descending))
    window = (
        select(
            products.c.id,
            products.c.search_vector,
            *[key.label(f"sort_key_{i + 1}") for i, key in enumerate(keys)],
        )
        .where(*conditions)
        .order_by(*[key.desc() if descending else key.asc() for key in keys])
        .limit(literal_column(str(NAME_TIER_WINDOW)))
        .subquery("recent")
    )
    window_keys = [window.c[f"sort_key_{i + 1}"] for i in range(len(keys))]
    in_window = (
        select(window.c.id, literal(NAME_TIER).label("sort_key_0"), *window_keys)
        .where(window.c.search_vector.bool_op("@@")(_tsquery(shape, in_name=True, once=True)))
        .order_by(*[key.desc() if descending else key.asc() for key in window_keys])
        .limit(literal_column(str(int(shape.limit))))
        .cte("name_window")
    )
    found = select(func.count()).select_from(in_window).scalar_subquery()
    page = literal_column(str(int(shape.limit)))
    return union_all(
        select(in_window).where(found >= page),
        every_match.where(found < page).subquery("every_name_match").select(),
    ).cte("name_tier")


def _page_keys(shape: _PageShape) -> Any:
    """The page's ids with their sort keys, as a subquery."""
    if shape.order is not ProductOrder.RELEVANCE:
        return _ordered(shape, [], shape.after, None).subquery("page_keys")
    # Relevance: the name tier, then the description tier; a cursor in the description tier
    # skips the name tier altogether.
    description_only = _ordered(
        shape,
        [not_(_name_matches(products, shape))],
        shape.after and shape.after_tier == DESCRIPTION_TIER,
        DESCRIPTION_TIER,
    )
    if shape.after_tier == DESCRIPTION_TIER:
        return description_only.subquery("page_keys")
    # A name holding the words implies search_vector matches: one condition is enough.
    name_first = _name_tier(shape)
    # The description tier runs only when the name tier does not fill the page (a one-time
    # filter, decided before its scan starts): finding that no description-only match exists
    # would otherwise cost a look at every match of the words.
    name_count = select(func.count()).select_from(name_first).scalar_subquery()
    description_only = description_only.where(name_count < literal_column(str(int(shape.limit))))
    return union_all(select(name_first), description_only.subquery().select()).subquery("page_keys")


def _matching(t: Any, shape: _PageShape, *, category_ids: bool = False) -> Select[Any]:
    """Every product the page's filters match (what `totalCount` counts).

    `category_ids`: the category tree as a parameter `category_ids` (its ids), for an estimate:
    PostgreSQL cannot estimate the rows of a recursive query, and took a tree for the catalog.
    """
    query = select(literal(1).label("one")).select_from(t).where(*_conditions(t, shape))
    if shape.category and category_ids:
        query = query.where(_in_category_ids(t))
    elif shape.category:
        subtree = _category_subtree(f"{t.name}_subtree")
        query = query.where(t.c.category_id.in_(select(subtree.c.id)))
    return query


async def _facets(
    conn: AsyncConnection, shape: _PageShape, values: dict[str, Any], estimate: int | None
) -> FacetCounts:
    """Facet counts of the matches: exact up to their bound, scaled from those above."""
    if shape.category:
        values = {**values, "category_ids": await _subtree_ids(conn, values)}
    counts = await facet_counts(conn, _facet_matching(shape), values)
    if counts.counted <= _facet_bound(shape):
        return counts
    return scaled(counts, estimate if estimate is not None else await _estimated_rows(conn, shape, values))


def _facet_bound(shape: _PageShape) -> int:
    """How many matches facets count exactly: a search's cost a visit to the table each."""
    return SEARCH_FACETS_EXACT_UP_TO if shape.search else FACETS_EXACT_UP_TO


def _facet_matching(shape: _PageShape) -> Select[Any]:
    """The matching products with what facets count by (models.product_facets), at most
    `_facet_bound` + 1 of them: a search's first index matches, else the newest ones, by an
    index-only walk of ix_products_newest (it includes category, price and availability; 0014).

    A category tree is a filter of that walk, by its ids (`category_ids`, `_subtree_ids`): with
    the recursive query in the statement, PostgreSQL took the tree for half the catalog and read
    the whole table on a 20,000-product one. (A walk per category, merged as the page does,
    reads the bound from each category.)
    """
    query = select(
        products.c.id,
        products.c.category_id,
        products.c.min_price,
        cast(products.c.in_stock, Integer).label("quantity_available"),
    ).where(*_conditions(products, shape))
    if shape.category:
        query = query.where(_in_category_ids(products))
    if not shape.search:
        query = query.order_by(products.c.created_at.desc(), products.c.id.desc())
    return query.limit(literal_column(str(_facet_bound(shape) + 1)))


def _total_count(shape: _PageShape) -> ColumnElement[Any]:
    """The matches, counted up to `exact_count_up_to` + 1 (see `_estimated_rows`)."""
    capped = _matching(products, shape)
    if not (shape.search or shape.category or shape.min_price or shape.max_price):
        # No condition an index serves: count along an index of active products rather than
        # let a sequential scan wade through whatever dead rows the table starts with.
        capped = capped.order_by(products.c.min_price, products.c.id)
    limited = capped.limit(literal_column(str(int(shape.exact_count_up_to) + 1))).subquery("capped")
    return select(func.count()).select_from(limited).scalar_subquery()


async def _estimated_rows(conn: Reads, shape: _PageShape, values: Mapping[str, Any]) -> int:
    """The planner's estimate of the matches (from the statistics ANALYZE keeps: no rows read)."""
    key = (
        "estimate",
        replace(
            shape,
            after=False,
            after_tier=None,
            with_total=True,
            with_variants=False,
            with_category=False,
            json_node=None,
        ),
    )
    values = dict(values)
    if shape.category and "category_ids" not in values:
        values["category_ids"] = await _subtree_ids(conn, values)
    read = compiled_read(conn, key, lambda: _matching(products, shape, category_ids=True), list(values))
    explained = CompiledRead(f"EXPLAIN (FORMAT JSON) {read.sql}", read.parameters, read.constants)
    plan = (await fetch(conn, explained, values))[0][0]
    if isinstance(plan, str | bytes):
        plan = orjson.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


async def _subtree_ids(conn: Reads, values: Mapping[str, Any]) -> list[int]:
    """The ids of the category tree of `category_slug`: as a parameter, PostgreSQL estimates the
    products in them from its statistics (a recursive query's rows it cannot estimate)."""
    read = compiled_read(
        conn, "subtree_ids", lambda: select(_category_subtree("ids_subtree").c.id), ["category_slug"]
    )
    return [row["id"] for row in await fetch(conn, read, {"category_slug": values["category_slug"]})]


def _in_category_ids(t: Any) -> ColumnElement[bool]:
    return t.c.category_id == any_(bindparam("category_ids", type_=ARRAY(BigInteger)))


def _rounded_estimate(shape: _PageShape, rows: int) -> int:
    """An estimate as `totalCount` says it: rounded to hundreds, and never below the exact bound."""
    return max(shape.exact_count_up_to + 1, round(rows, -2) if rows >= 1000 else rows)


def _page_statement(shape: _PageShape) -> Select[Any]:
    page_keys = _page_keys(shape)
    names = _key_names(shape)
    sort_keys = [page_keys.c[name] for name in names]
    _, descending = _sort_columns(shape.order, products)
    if shape.json_node is None:
        columns = product_select(
            *sort_keys, with_variants=shape.with_variants, with_category=shape.with_category
        )
    else:
        columns = select(products.c.id, product_json(shape.json_node).label("node_json"), *sort_keys)
        columns = columns.select_from(products).where(products.c.is_active)
    page = (
        columns.join(page_keys, page_keys.c.id == products.c.id)
        .order_by(*[key.desc() if descending else key.asc() for key in sort_keys])
        .limit(literal_column(str(int(shape.limit))))
    )
    if not shape.with_total:
        return page
    page_sub = page.subquery("page")
    return select(_total_count(shape).label("total_count"), page_sub).select_from(
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
