"""No N+1: the statements a catalog page costs do not depend on its size."""

from __future__ import annotations

import httpx
import pytest

from tests.support import StatementCounter, graphql

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
    await graphql(client, CATALOG_PAGE, {"first": 1})  # warm the connection pool
    sql_statements.reset()
    body = await graphql(client, CATALOG_PAGE, {"first": first})
    assert len(body["data"]["products"]["edges"]) == first
    # the page with its total and price summaries, then one batch of variants and one of categories
    assert sql_statements.count == 3, sql_statements.statements


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


async def test_product_by_slug_costs_two_statements(
    client: httpx.AsyncClient, sql_statements: StatementCounter
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
    assert sql_statements.count == 2, sql_statements.statements
