"""The read side of the catalog through /graphql, on the seeded demo catalog."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.support import graphql, own_engine

PAGE = """
query Page($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id slug name inStock
        category { slug }
        priceRange { min { amount currency } max { amount } }
        variants { id sku price { amount } quantityAvailable }
      }
    }
  }
}
"""


async def page(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, PAGE, variables)
    assert "errors" not in body, body
    return body["data"]["products"]


async def walk(
    client: httpx.AsyncClient, page_size: int, **variables: Any
) -> tuple[list[dict[str, Any]], int]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        result = await page(client, first=page_size, after=after, **variables)
        nodes.extend(edge["node"] for edge in result["edges"])
        assert result["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not result["pageInfo"]["hasNextPage"]:
            return nodes, result["totalCount"]
        after = result["pageInfo"]["endCursor"]
        assert after == result["edges"][-1]["cursor"]


async def test_first_page_has_products_with_variants_and_categories(client: httpx.AsyncClient) -> None:
    result = await page(client, first=5)
    assert result["totalCount"] == 320
    assert len(result["edges"]) == 5
    assert result["pageInfo"]["hasNextPage"] is True
    for edge in result["edges"]:
        product = edge["node"]
        assert product["variants"], product
        prices = [variant["price"]["amount"] for variant in product["variants"]]
        assert product["priceRange"]["min"]["amount"] == min(prices)
        assert product["priceRange"]["max"]["amount"] == max(prices)
        assert product["priceRange"]["min"]["currency"] == "usd"
        assert product["inStock"] == any(variant["quantityAvailable"] > 0 for variant in product["variants"])
        assert product["category"]["slug"]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("NEWEST", None),
        ("NAME", lambda node: node["name"]),
        ("PRICE_ASC", lambda node: node["priceRange"]["min"]["amount"]),
        ("PRICE_DESC", lambda node: -node["priceRange"]["min"]["amount"]),
    ],
)
async def test_paging_through_every_sort_never_repeats_or_skips(
    client: httpx.AsyncClient, sort: str, key: Any
) -> None:
    nodes, total = await walk(client, 37, sort=sort)
    ids = [node["id"] for node in nodes]
    assert len(ids) == len(set(ids)) == total == 320
    if key is not None:
        values = [key(node) for node in nodes]
        assert values == sorted(values)


async def test_newest_comes_first(client: httpx.AsyncClient, database_url: str) -> None:

    engine = own_engine(database_url)
    async with engine.connect() as conn:
        expected = (
            (await conn.execute(text("SELECT slug FROM products ORDER BY created_at DESC, id DESC LIMIT 10")))
            .scalars()
            .all()
        )
    await engine.dispose()
    result = await page(client, first=10)
    assert [edge["node"]["slug"] for edge in result["edges"]] == expected


async def test_cursor_stays_valid_when_products_are_added(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first = await page(client, first=10, sort="NAME")

    engine = own_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO products (slug, name, description) VALUES ('aaa-new', 'AAA New Thing', 'x')")
        )
    await engine.dispose()
    second = await page(client, first=10, sort="NAME", after=first["pageInfo"]["endCursor"])
    seen = {edge["node"]["id"] for edge in first["edges"]}
    assert not seen & {edge["node"]["id"] for edge in second["edges"]}
    assert second["edges"][0]["node"]["name"] >= first["edges"][-1]["node"]["name"]
    assert second["totalCount"] == 321


@pytest.mark.parametrize("first", [-1, 101, 1000])
async def test_first_outside_the_cap_is_a_clear_error(client: httpx.AsyncClient, first: int) -> None:
    body = await graphql(client, PAGE, {"first": first})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"] and "100" in error["message"]


async def test_first_zero_gives_an_empty_page_with_the_total(client: httpx.AsyncClient) -> None:
    result = await page(client, first=0)
    assert result["edges"] == [] and result["totalCount"] == 320 and result["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJ4Ijox", "W10"])
async def test_a_forged_cursor_is_a_clear_error(client: httpx.AsyncClient, cursor: str) -> None:
    body = await graphql(client, PAGE, {"first": 5, "after": cursor})
    if cursor == "":
        assert "errors" not in body
        return
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "cursor" in body["errors"][0]["message"]


async def test_a_cursor_of_another_sort_is_refused(client: httpx.AsyncClient) -> None:
    newest = await page(client, first=3)
    body = await graphql(
        client, PAGE, {"first": 3, "sort": "PRICE_ASC", "after": newest["pageInfo"]["endCursor"]}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_category_filter_includes_sub_categories(client: httpx.AsyncClient) -> None:
    categories = (await graphql(client, "{ categories { slug parent { slug } } }"))["data"]["categories"]
    children: dict[str, list[str]] = {}
    for category in categories:
        if category["parent"]:
            children.setdefault(category["parent"]["slug"], []).append(category["slug"])
    parent, kids = next(iter(children.items()))
    nodes, total = await walk(client, 100, filter={"categorySlug": parent})
    assert total == len(nodes) > 0
    found = {node["category"]["slug"] for node in nodes}
    assert found <= {parent, *kids}
    assert found & set(kids), "products of sub-categories are included"
    direct = 0
    for slug in {parent, *kids}:
        direct += (
            (await page(client, first=0, filter={"categorySlug": slug}))["totalCount"]
            if slug != parent
            else 0
        )
    own = sum(1 for node in nodes if node["category"]["slug"] == parent)
    assert total == direct + own


async def test_unknown_category_gives_nothing(client: httpx.AsyncClient) -> None:
    result = await page(client, first=5, filter={"categorySlug": "no-such-category"})
    assert result["totalCount"] == 0 and result["edges"] == []


async def test_price_filter_uses_the_lowest_variant_price(client: httpx.AsyncClient) -> None:
    nodes, total = await walk(client, 100, filter={"minPrice": 2000, "maxPrice": 5000}, sort="PRICE_ASC")
    assert total == len(nodes) > 0
    for node in nodes:
        assert 2000 <= node["priceRange"]["min"]["amount"] <= 5000
    everything, _ = await walk(client, 100)
    expected = {n["id"] for n in everything if 2000 <= n["priceRange"]["min"]["amount"] <= 5000}
    assert {n["id"] for n in nodes} == expected


async def test_pages_of_one_shape_each_answer_their_own_values(client: httpx.AsyncClient) -> None:
    """A page's SQL is compiled once per shape (models.compiled): its values are never reused."""
    everything, _ = await walk(client, 100)
    for low, high in [(1000, 3000), (4000, 9000), (0, 1500)]:
        nodes, total = await walk(client, 100, filter={"minPrice": low, "maxPrice": high})
        expected = {n["id"] for n in everything if low <= n["priceRange"]["min"]["amount"] <= high}
        assert {n["id"] for n in nodes} == expected and total == len(expected)
    slugs = {n["category"]["slug"] for n in everything if n["category"]}
    for slug in sorted(slugs)[:3]:
        result = await page(client, first=100, filter={"categorySlug": slug})
        assert result["edges"] and all(edge["node"]["category"]["slug"] for edge in result["edges"])
        assert any(edge["node"]["category"]["slug"] == slug for edge in result["edges"])
    for search in ["bluetooth speaker", "leather", "lamp"]:
        result = await page(client, first=5, filter={"search": search})
        assert result["edges"], search
        word = search.split()[0]
        assert any(word in edge["node"]["name"].lower() for edge in result["edges"]), search


@pytest.mark.parametrize("in_stock", [True, False])
async def test_in_stock_filter(client: httpx.AsyncClient, in_stock: bool) -> None:
    nodes, total = await walk(client, 100, filter={"inStock": in_stock})
    assert total == len(nodes)
    assert all(node["inStock"] is in_stock for node in nodes)
    if in_stock:
        assert total > 0


async def test_search_tolerates_typos(client: httpx.AsyncClient) -> None:
    result = await page(client, first=5, filter={"search": "blutooth speakr"})
    assert result["edges"], "the misspelt search finds products"
    assert "Bluetooth Speaker" in result["edges"][0]["node"]["name"]


async def test_search_ranks_name_matches_and_pages_by_relevance(client: httpx.AsyncClient) -> None:
    nodes, total = await walk(client, 3, filter={"search": "bluetooth speaker"})
    assert total == len(nodes) == len({node["id"] for node in nodes}) > 0
    assert "Bluetooth Speaker" in nodes[0]["name"]


@pytest.mark.parametrize(
    "search",
    [
        "'; DROP TABLE products; --",
        '"bluetooth" & | ! :* <-> (',
        "\\x00\\' OR 1=1",
        "%_%",
        "   ",
        "a" * 5000,
        "مرحبا \u202e speaker",
    ],
)
async def test_hostile_search_text_is_just_text(client: httpx.AsyncClient, search: str) -> None:
    result = await page(client, first=5, filter={"search": search})
    assert result["totalCount"] >= 0
    assert (await page(client, first=1))["totalCount"] == 320


async def test_product_by_slug_with_variants(client: httpx.AsyncClient) -> None:
    slug = (await page(client, first=1))["edges"][0]["node"]["slug"]
    body = await graphql(
        client,
        "query($slug: String!) { product(slug: $slug) { slug name description images { url alt } "
        "variants { sku name price { amount currency } quantityAvailable product { slug } } } }",
        {"slug": slug},
    )
    product = body["data"]["product"]
    assert (
        product["slug"] == slug
        and product["description"]
        and product["images"][0]["url"].startswith("https://")
    )
    assert all(variant["product"]["slug"] == slug for variant in product["variants"])
    missing = await graphql(client, '{ product(slug: "no-such-product") { id } }')
    assert missing == {"data": {"product": None}}


async def test_node_resolves_every_catalog_type(client: httpx.AsyncClient) -> None:
    product = (await page(client, first=1))["edges"][0]["node"]
    variant_id = product["variants"][0]["id"]
    query = """
    query($id: ID!) { node(id: $id) { id __typename
      ... on Product { slug } ... on ProductVariant { sku } ... on Category { slug } } }
    """
    assert (await graphql(client, query, {"id": product["id"]}))["data"]["node"]["slug"] == product["slug"]
    variant = (await graphql(client, query, {"id": variant_id}))["data"]["node"]
    assert variant["__typename"] == "ProductVariant" and variant["sku"] == product["variants"][0]["sku"]
    category_id = (await graphql(client, "{ categories { id slug } }"))["data"]["categories"][0]
    node = (await graphql(client, query, {"id": category_id["id"]}))["data"]["node"]
    assert node == {"id": category_id["id"], "__typename": "Category", "slug": category_id["slug"]}
    for bogus in ["nope", "UHJvZHVjdDo5OTk5OTk=", "VXNlcjox", ""]:
        assert (await graphql(client, query, {"id": bogus}))["data"]["node"] is None


async def test_quantity_available_subtracts_reservations(
    client: httpx.AsyncClient, database_url: str
) -> None:

    engine = own_engine(database_url)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "UPDATE product_variants SET stock = 7, reserved = 3"
                    " WHERE id = (SELECT min(id) FROM product_variants) RETURNING sku"
                )
            )
        ).one()
    await engine.dispose()
    products, _ = await walk(client, 100)
    variants = {variant["sku"]: variant for node in products for variant in node["variants"]}
    assert variants[row.sku]["quantityAvailable"] == 4


async def test_categories_form_a_tree(client: httpx.AsyncClient) -> None:
    categories = (await graphql(client, "{ categories { id name slug parent { slug } } }"))["data"][
        "categories"
    ]
    assert len(categories) >= 12
    assert any(category["parent"] for category in categories)
    slugs = {category["slug"] for category in categories}
    assert all(category["parent"]["slug"] in slugs for category in categories if category["parent"])


async def test_category_products_include_sub_categories(client: httpx.AsyncClient) -> None:
    body = await graphql(
        client,
        "{ categories { slug parent { slug } products(first: 2) { totalCount edges { node { slug } } } } }",
    )
    categories = body["data"]["categories"]
    totals = {category["slug"]: category["products"]["totalCount"] for category in categories}
    for category in categories:
        if category["parent"]:
            assert totals[category["parent"]["slug"]] >= totals[category["slug"]]
    assert sum(totals[c["slug"]] for c in categories if not c["parent"]) == 320
