"""Attribute filters and facet counts, against a small catalog whose counts are worked out by hand.

The catalog (in its own category tree, beside the demo one):

| product | own category   | fabric (product) | variants: colour, price, stock        |
| ------- | -------------- | ---------------- | ------------------------------------- |
| Alpha   | facet-test     | cotton           | red 1500 x5, blue 1800 x0             |
| Bravo   | facet-test     | wool             | red 3000 x0                           |
| Charlie | facet-test     | cotton, wool     | green 500 x2, blue 100 x3 (deleted)   |
| Delta   | facet-test-sub | -                | plain 12000 x1                        |
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from domain import catalog_admin as admin
from tests.support import StatementCounter, graphql, own_engine

FACETS = """
query($filter: ProductFilter) {
  products(first: 10, filter: $filter, sort: NAME) {
    totalCount
    edges { node { name attributes { attribute { slug } values { slug } }
                   variants { name attributes { attribute { slug name } values { slug name } } } } }
    facets {
      attributes { attribute { slug name values { slug } } values { value { slug name } count } }
      categories { category { slug } count }
      priceBuckets { min { amount } max { amount } count }
      inStock
    }
  }
}
"""

# asyncpg introspects a type (text[], bigint[]) the first time a connection meets it.
DRIVER_INTERNAL = re.compile(r"typeinfo_tree|set_config\('jit'")


@pytest.fixture
async def catalog(database_url: str) -> None:
    engine = own_engine(database_url)
    try:
        async with engine.begin() as conn:
            top = await admin.create_category(conn, name="Facet Test")
            sub = await admin.create_category(conn, name="Facet Test Sub", parent_id=top.id)
            await admin.create_attribute(
                conn,
                name="Test Colour",
                input_type="SWATCH",
                values=[("Red", None), ("Blue", None), ("Green", None), ("Plain", None)],
            )
            await admin.create_attribute(
                conn, name="Test Fabric", input_type="MULTISELECT", values=[("Cotton", None), ("Wool", None)]
            )
            rows: list[tuple[str, int, list[str], list[tuple[str, int, int]]]] = [
                ("Alpha", top.id, ["cotton"], [("red", 1500, 5), ("blue", 1800, 0)]),
                ("Bravo", top.id, ["wool"], [("red", 3000, 0)]),
                ("Charlie", top.id, ["cotton", "wool"], [("green", 500, 2), ("blue", 100, 3)]),
                ("Delta", sub.id, [], [("plain", 12000, 1)]),
            ]
            for name, category_id, fabrics, variants in rows:
                product = await admin.create_product(conn, name=f"Facet {name}", category_id=category_id)
                if fabrics:
                    await admin.set_product_attribute_values(conn, product.id, {"test-fabric": fabrics})
                for colour, price, stock in variants:
                    variant = await admin.create_variant(
                        conn,
                        product_id=product.id,
                        sku=f"FACET-{name}-{colour}".upper(),
                        name=colour.title(),
                        price=price,
                        stock=stock,
                    )
                    await admin.set_variant_attribute_values(conn, variant.id, {"test-colour": [colour]})
                    if name == "Charlie" and colour == "blue":
                        await admin.delete_variant(conn, variant.id)
    finally:
        await engine.dispose()


async def products(client: httpx.AsyncClient, **filters: Any) -> dict[str, Any]:
    body = await graphql(client, FACETS, {"filter": {"categorySlug": "facet-test", **filters}})
    assert "errors" not in body, body
    return body["data"]["products"]


def names(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in page["edges"]]


def counts(page: dict[str, Any]) -> dict[str, Any]:
    facets = page["facets"]
    return {
        "attributes": {
            facet["attribute"]["slug"]: {item["value"]["slug"]: item["count"] for item in facet["values"]}
            for facet in facets["attributes"]
        },
        "categories": {item["category"]["slug"]: item["count"] for item in facets["categories"]},
        "prices": [
            (bucket["min"]["amount"], bucket["max"] and bucket["max"]["amount"], bucket["count"])
            for bucket in facets["priceBuckets"]
        ],
        "in_stock": facets["inStock"],
    }


@pytest.mark.usefixtures("catalog")
async def test_facets_of_the_whole_category_tree(client: httpx.AsyncClient) -> None:
    page = await products(client)
    assert names(page) == ["Facet Alpha", "Facet Bravo", "Facet Charlie", "Facet Delta"]
    assert counts(page) == {
        # Charlie's blue variant is deleted: it neither counts nor shows.
        "attributes": {
            "test-colour": {"red": 2, "blue": 1, "green": 1, "plain": 1},
            "test-fabric": {"cotton": 2, "wool": 2},
        },
        "categories": {"facet-test": 3, "facet-test-sub": 1},
        "prices": [(0, 1000, 1), (1000, 2500, 1), (2500, 5000, 1), (10000, 25000, 1)],
        "in_stock": 3,
    }
    colour = page["facets"]["attributes"][0]["attribute"]
    assert colour == {
        "slug": "test-colour",
        "name": "Test Colour",
        "values": [{"slug": "red"}, {"slug": "blue"}, {"slug": "green"}, {"slug": "plain"}],
    }
    charlie = page["edges"][2]["node"]
    assert charlie["attributes"] == [
        {"attribute": {"slug": "test-fabric"}, "values": [{"slug": "cotton"}, {"slug": "wool"}]}
    ]
    assert charlie["variants"] == [
        {
            "name": "Green",
            "attributes": [
                {
                    "attribute": {"slug": "test-colour", "name": "Test Colour"},
                    "values": [{"slug": "green", "name": "Green"}],
                }
            ],
        }
    ]


@pytest.mark.usefixtures("catalog")
async def test_attribute_filters_or_within_and_across(client: httpx.AsyncClient) -> None:
    red_or_green = await products(
        client, attributes=[{"attribute": "test-colour", "values": ["red", "green"]}]
    )
    assert names(red_or_green) == ["Facet Alpha", "Facet Bravo", "Facet Charlie"]
    assert red_or_green["totalCount"] == 3

    and_wool = await products(
        client,
        attributes=[
            {"attribute": "test-colour", "values": ["red", "green"]},
            {"attribute": "test-fabric", "values": ["wool"]},
        ],
    )
    assert names(and_wool) == ["Facet Bravo", "Facet Charlie"]
    assert counts(and_wool) == {
        "attributes": {"test-colour": {"red": 1, "green": 1}, "test-fabric": {"cotton": 1, "wool": 2}},
        "categories": {"facet-test": 2},
        "prices": [(0, 1000, 1), (2500, 5000, 1)],
        "in_stock": 1,
    }
    # Only a deleted variant of Charlie is blue.
    blue = await products(client, attributes=[{"attribute": "test-colour", "values": ["blue"]}])
    assert names(blue) == ["Facet Alpha"]
    nothing = await products(client, attributes=[{"attribute": "no-such-attribute", "values": ["red"]}])
    assert nothing["totalCount"] == 0 and counts(nothing)["attributes"] == {}
    assert counts(nothing)["in_stock"] == 0


@pytest.mark.usefixtures("catalog")
async def test_facets_cost_a_fixed_number_of_statements(
    client: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    await graphql(client, "{ categories { id } }")  # warm the connection pool
    for first in (1, 4):
        sql_statements.reset()
        body = await graphql(
            client,
            FACETS.replace("first: 10", f"first: {first}"),
            {"filter": {"categorySlug": "facet-test"}},
        )
        assert len(body["data"]["products"]["edges"]) == first
        # the page, the category tree's ids (so the facets' walk is planned for its size), the
        # facet counts, the attributes and categories they name, the products' and the variants'
        # attributes: one statement each, whatever the page size
        ours = [statement for statement in sql_statements.statements if not DRIVER_INTERNAL.search(statement)]
        assert len(ours) == 7, ours


async def test_too_many_attribute_filters_are_refused(client: httpx.AsyncClient) -> None:
    many = [{"attribute": f"a{i}", "values": ["x"]} for i in range(21)]
    body = await graphql(client, FACETS, {"filter": {"attributes": many}})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TOO_MANY_ITEMS"]


async def test_the_demo_catalog_has_meaningful_facets(client: httpx.AsyncClient) -> None:
    body = await graphql(
        client,
        '{ products(first: 1, filter: {search: "speaker"}) { totalCount facets { inStock'
        " attributes { attribute { slug } values { value { slug } count } } } } }",
    )
    page = body["data"]["products"]
    facets = {facet["attribute"]["slug"]: facet["values"] for facet in page["facets"]["attributes"]}
    assert {"brand", "colour"} <= set(facets)
    assert sum(value["count"] for value in facets["brand"]) == page["totalCount"]  # one brand each
    red = await graphql(
        client,
        '{ products(first: 1, filter: {search: "speaker", attributes: [{attribute: "colour", values: ["red"]}]})'
        " { totalCount } }",
    )
    counted = next(value["count"] for value in facets["colour"] if value["value"]["slug"] == "red")
    assert red["data"]["products"]["totalCount"] == counted > 0
