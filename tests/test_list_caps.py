"""Every list argument has a cap (issue 12, item 6): cartLinesRemove took 240,000 ids."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from domain.carts import MAX_CART_LINES
from graph.ids import to_global_id
from graph.list_arguments import LIST_ARGUMENT_CAPS, list_arguments
from resolvers.schema import schema
from tests.accounts import staff_token
from tests.shop import ADD, REMOVE, UPDATE, new_cart, variant_with_stock
from tests.support import graphql, sql

# One request per capped argument, with `n` items in that list.
REQUESTS = {
    ("Mutation", "cartLinesAdd", "lines"): lambda token, variant, n: (
        ADD,
        {"cartToken": token, "lines": [{"variantId": variant, "quantity": 1}] * n},
    ),
    ("Mutation", "cartLinesUpdate", "lines"): lambda token, line, n: (
        UPDATE,
        {"cartToken": token, "lines": [{"lineId": line, "quantity": 2}] * n},
    ),
    ("Mutation", "cartLinesRemove", "lineIds"): lambda token, line, n: (
        REMOVE,
        {"cartToken": token, "lineIds": [line] * n},
    ),
}


def test_every_list_argument_of_the_schema_has_a_cap() -> None:
    assert list_arguments(schema._schema) == set(LIST_ARGUMENT_CAPS) == set(REQUESTS) | set(CATALOG_REQUESTS)


async def cart_lines(database_url: str) -> list[tuple[int, int]]:
    rows = await sql(database_url, "SELECT variant_id, quantity FROM cart_lines ORDER BY id")
    return [(row.variant_id, row.quantity) for row in rows]


async def test_one_item_over_the_cap_is_refused_with_what_is_allowed(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant, _, _ = await variant_with_stock(database_url, 50)
    token = await new_cart(client, variant)
    (line_pk,) = [row.id for row in await sql(database_url, "SELECT id FROM cart_lines")]
    line = to_global_id("CartLine", line_pk)
    before = await cart_lines(database_url)
    for argument, request in REQUESTS.items():
        cap = LIST_ARGUMENT_CAPS[argument]
        query, variables = request(token, variant if argument[1] == "cartLinesAdd" else line, cap + 1)
        body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
        (payload,) = body["data"].values()
        assert payload["userErrors"] == [
            {
                "field": [argument[2]],
                "message": f"A cart holds at most {MAX_CART_LINES} different items.",
                "code": "INVALID_QUANTITY",
            }
        ], argument
        assert payload["cart"] is None
    assert await cart_lines(database_url) == before


async def test_huge_lists_are_refused_before_they_are_read(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant, _, _ = await variant_with_stock(database_url, 50)
    token = await new_cart(client, variant)
    before = await cart_lines(database_url)

    async def remove(ids: Any) -> httpx.Response:
        return await client.post(
            "/graphql", json={"query": REMOVE, "variables": {"cartToken": token, "lineIds": ids}}
        )

    # Four at once, each 100,000 ids (about 500 KB): refused before graphql-core coerces them.
    answers = await asyncio.gather(*(remove(["1"] * 100_000) for _ in range(4)))
    for answer in answers:
        body = answer.json()
        assert [error["extensions"]["code"] for error in body["errors"]] == ["TOO_MANY_ITEMS"]
        assert len(answer.content) < 1_000
    # A literal list in the document counts as well.
    ids = ",".join(['"1"'] * 1_001)
    literal = f'mutation {{ cartLinesRemove(cartToken: "{token}", lineIds: [{ids}]) {{ cart {{ id }} }} }}'
    body = (await client.post("/graphql", json={"query": literal})).json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TOO_MANY_ITEMS"]
    assert await cart_lines(database_url) == before


# The staff catalog's lists (issue 14): (document, variables for n distinct items, the refusal).
_SET = "{ product { id } userErrors { code } }"
CATALOG_REQUESTS: dict[tuple[str, str, str], Any] = {
    ("ProductCreateInput", "images", ""): lambda ids, n: (
        f'mutation($i: [ProductImageInput!]) {{ productCreate(input: {{name: "Capped", images: $i}}) {_SET} }}',
        {"i": [{"url": f"https://img.example/{k}.jpg"} for k in range(n)]},
        "TOO_MANY_IMAGES",
    ),
    ("ProductUpdateInput", "images", ""): lambda ids, n: (
        f"mutation($p: ID!, $i: [ProductImageInput!]) {{ productUpdate(id: $p, input: {{images: $i}}) {_SET} }}",
        {"p": ids["product"], "i": [{"url": f"https://img.example/{k}.jpg"} for k in range(n)]},
        "TOO_MANY_IMAGES",
    ),
    ("AttributeCreateInput", "values", ""): lambda ids, n: (
        'mutation($v: [AttributeValueInput!]) { attributeCreate(input: {name: "Capped", values: $v})'
        " { attribute { id } userErrors { code } } }",
        {"v": [{"name": f"Value {k}"} for k in range(n)]},
        "TOO_MANY_ITEMS",
    ),
    ("AttributeValuesInput", "values", ""): lambda ids, n: (
        f"mutation($p: ID!, $v: [String!]!) {{ productAttributesSet(product: $p,"
        f' attributes: [{{attribute: "capped-multi", values: $v}}]) {_SET} }}',
        {"p": ids["product"], "v": [f"v{k}" for k in range(n)]},
        "TOO_MANY_VALUES",
    ),
    ("Mutation", "productAttributesSet", "attributes"): lambda ids, n: (
        f"mutation($p: ID!, $a: [AttributeValuesInput!]!) {{ productAttributesSet(product: $p, attributes: $a) {_SET} }}",
        {"p": ids["product"], "a": [{"attribute": f"a{k}", "values": []} for k in range(n)]},
        "TOO_MANY_ITEMS",
    ),
    ("Mutation", "productVariantAttributesSet", "attributes"): lambda ids, n: (
        "mutation($p: ID!, $a: [AttributeValuesInput!]!) { productVariantAttributesSet(variant: $p, attributes: $a)"
        " { productVariant { id } userErrors { code } } }",
        {"p": ids["variant"], "a": [{"attribute": f"a{k}", "values": []} for k in range(n)]},
        "TOO_MANY_ITEMS",
    ),
    ("ProductFilter", "attributes", ""): lambda ids, n: (
        "query($a: [AttributeFilter!]) { products(filter: {attributes: $a}) { totalCount } }",
        {"a": [{"attribute": f"a{k}", "values": ["x"]} for k in range(n)]},
        "TOO_MANY_ITEMS",
    ),
    ("AttributeFilter", "values", ""): lambda ids, n: (
        'query($v: [String!]!) { products(filter: {attributes: [{attribute: "a", values: $v}]}) { totalCount } }',
        {"v": [f"v{k}" for k in range(n)]},
        "TOO_MANY_ITEMS",
    ),
}


async def test_catalog_lists_one_item_over_the_cap_are_refused(
    client: httpx.AsyncClient, database_url: str
) -> None:
    token = await staff_token(client, database_url)
    (row,) = await sql(database_url, "SELECT product_id, id FROM product_variants ORDER BY id LIMIT 1")
    ids = {
        "product": to_global_id("Product", row.product_id),
        "variant": to_global_id("ProductVariant", row.id),
    }
    multi = await graphql(
        client,
        'mutation { attributeCreate(input: {name: "Capped Multi", inputType: MULTISELECT}) { userErrors { code } } }',
        token=token,
    )
    assert multi["data"]["attributeCreate"]["userErrors"] == []
    for argument, request in CATALOG_REQUESTS.items():
        cap = LIST_ARGUMENT_CAPS[argument]
        for n, refused in ((cap, False), (cap + 1, True)):
            query, variables, code = request(ids, n)
            body = await graphql(client, query, variables, token=token)
            if argument[0] in ("ProductFilter", "AttributeFilter"):
                found = [error["extensions"]["code"] for error in body.get("errors", [])]
            else:
                (payload,) = body["data"].values()
                found = [error["code"] for error in payload["userErrors"]]
            assert (code in found) == refused, (argument, n, body)
