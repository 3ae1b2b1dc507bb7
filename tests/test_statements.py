"""No N+1: the statements a catalog page costs do not depend on its size."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from tests.support import RunningServer, StatementCounter, eventually, graphql, own_engine

CATALOG_PAGE = """
query($first: Int!) {
  products(first: $first) {
    totalCount
    edges { node {
      id name slug description images { url alt }
      category { name slug }
      priceRange { min { amount currency } max { amount currency } }
      variants { id sku name price { amount currency } quantityAvailable }
    } }
  }
}
"""

DEEP_CATALOG_PAGE = """
query($first: Int!) {
  products(first: $first) {
    edges { node {
      slug
      category { slug parent { slug } }
      variants { sku product { slug category { slug } } }
    } }
  }
}
"""


@pytest.mark.parametrize("first", [1, 20, 100])
async def test_catalog_page_costs_the_same_statements_at_every_size(
    client: httpx.AsyncClient, sql_statements: StatementCounter, first: int
) -> None:
    await graphql(client, "{ categories { id } }")  # warm the connection pool
    sql_statements.reset()
    body = await graphql(client, CATALOG_PAGE, {"first": first})
    assert len(body["data"]["products"]["edges"]) == first
    # one statement: the page with its total, price summaries, categories and variants
    assert sql_statements.count == 1, sql_statements.statements


FRAGMENT_PAGE = """
query { products(first: 5) { ...Page } }
fragment Page on ProductConnection { total: totalCount edges { node { ... on Product { ...Card } } } }
fragment Card on Product { slug category { slug } variants { sku quantityAvailable } }
"""


async def test_what_fragments_ask_for_is_read_ahead_too(
    client: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    body = await graphql(client, FRAGMENT_PAGE)
    products = body["data"]["products"]
    assert products["total"] > 0 and all(edge["node"]["variants"] for edge in products["edges"])
    assert all(edge["node"]["category"] for edge in products["edges"])
    assert sql_statements.count == 1, sql_statements.statements


@pytest.mark.parametrize("first", [1, 20, 100])
async def test_deeper_nesting_still_batches_each_level(
    client: httpx.AsyncClient, sql_statements: StatementCounter, first: int
) -> None:
    sql_statements.reset()
    body = await graphql(client, DEEP_CATALOG_PAGE, {"first": first})
    assert len(body["data"]["products"]["edges"]) == first
    # page; variants and categories; parents and the variants' products. Categories already
    # loaded are not read again, so a large page may need one statement less, never more.
    assert sql_statements.count <= 5, sql_statements.statements


async def test_product_by_slug_costs_one_statement_or_two_on_the_standard_path(
    server: RunningServer, client: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    slug = (await graphql(client, "{ products(first: 1) { edges { node { slug } } } }"))["data"]["products"][
        "edges"
    ][0]["node"]["slug"]
    sql_statements.reset()
    body = await graphql(
        client,
        "query($slug: String!) { product(slug: $slug) { name variants { sku quantityAvailable } } }",
        {"slug": slug},
    )
    assert body["data"]["product"]["variants"]
    # The product with its variants as JSON built by PostgreSQL (graph.catalog.page_json).
    assert sql_statements.count == 1, sql_statements.statements
    # The standard path (CATALOG_JSON_IN_SQL off, or a selection it does not build): the
    # product, then its variants.
    server.app.state.settings.catalog_json_in_sql = False
    sql_statements.reset()
    body = await graphql(
        client,
        "query($slug: String!) { product(slug: $slug) { name variants { sku quantityAvailable } } }",
        {"slug": slug, "again": True},  # not the cached answer
    )
    assert body["data"]["product"]["variants"]
    assert sql_statements.count == 2, sql_statements.statements


async def wait_for_invalidation(client: httpx.AsyncClient, query: str, variables: dict, before: dict) -> dict:
    """The answer once the catalog change has been heard (pg_notify is delivered after commit)."""

    async def changed() -> dict | None:
        body = await graphql(client, query, variables)
        return body if body != before else None

    return await eventually(changed, message="the catalog change was not heard")


async def test_repeated_catalog_pages_come_from_the_cache_until_the_catalog_changes(
    client: httpx.AsyncClient, sql_statements: StatementCounter, database_url: str, server: RunningServer
) -> None:
    # The cache serves only once the server listens for catalog changes, just after it starts.
    await eventually(lambda: server.app.state.catalog_cache.enabled, message="the catalog cache is off")
    first = await graphql(client, CATALOG_PAGE, {"first": 20})
    sql_statements.reset()
    again = await graphql(client, CATALOG_PAGE, {"first": 20})
    assert again == first and sql_statements.count == 0

    variant = first["data"]["products"]["edges"][0]["node"]["variants"][0]
    engine = own_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE product_variants SET stock = stock + 5, price = price + 1 WHERE sku = :sku"),
            {"sku": variant["sku"]},
        )
    await engine.dispose()
    changed = await wait_for_invalidation(client, CATALOG_PAGE, {"first": 20}, first)
    new_variant = changed["data"]["products"]["edges"][0]["node"]["variants"][0]
    assert new_variant["quantityAvailable"] == variant["quantityAvailable"] + 5
    assert new_variant["price"]["amount"] == variant["price"]["amount"] + 1


async def test_viewer_dependent_queries_are_never_cached(
    client: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    query = '{ products(first: 1) { totalCount } cart(token: "nope") { token } }'
    await graphql(client, query)
    sql_statements.reset()
    await graphql(client, query)
    assert sql_statements.count > 0
