"""Staff edit the catalog through GraphQL, and the storefront shows it at once.

A product with two variants appears in `products` and search straight away (the answer cache,
warmed before, is dropped); a soft-deleted product vanishes while its orders keep their lines;
stock never goes below what checkouts hold; a price change keeps cart price locks.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.accounts import staff_token
from tests.shop import cart_add, checkout, read_cart
from tests.support import codes, error_codes, graphql, sql

PRODUCT_FIELDS = "product { id slug name priceRange { min { amount } max { amount } } variants { id sku } }"
VARIANT_FIELDS = "productVariant { id sku price { amount } quantityAvailable } stock reserved deleted"

PRODUCT_CREATE = f"""
mutation($input: ProductCreateInput!) {{
  productCreate(input: $input) {{ {PRODUCT_FIELDS} userErrors {{ field message code }} }}
}}
"""
VARIANT_CREATE = f"""
mutation($input: ProductVariantCreateInput!) {{
  productVariantCreate(input: $input) {{ {VARIANT_FIELDS} userErrors {{ field message code }} }}
}}
"""
STOCK_ADJUST = """
mutation($v: ID!, $delta: Int, $quantity: Int, $reason: StockAdjustmentReason!) {
  stockAdjust(variantId: $v, delta: $delta, quantity: $quantity, reason: $reason) {
    stock reserved movement { delta quantityAfter reason } userErrors { field code }
  }
}
"""
SEARCH = """
query($q: String) { products(first: 5, filter: {search: $q}) { totalCount edges { node { slug name } } } }
"""


async def staff_call(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload


async def new_product(client: httpx.AsyncClient, token: str, name: str, *prices: int) -> dict[str, Any]:
    category = (await graphql(client, "{ categories { id slug } }"))["data"]["categories"][0]
    created = await staff_call(
        client,
        token,
        PRODUCT_CREATE,
        input={
            "name": name,
            "description": "Hand-thrown stoneware, glazed in a speckled oatmeal finish.",
            "category": category["id"],
            "images": [{"url": "https://img.example/mug.jpg", "alt": "The mug"}],
        },
    )
    assert created["userErrors"] == [], created
    product = created["product"]
    for index, price in enumerate(prices):
        variant = await staff_call(
            client,
            token,
            VARIANT_CREATE,
            input={
                "product": product["id"],
                "sku": f"{product['slug'].upper()}-{index}",
                "name": f"Size {index}",
                "price": price,
                "stock": 10,
            },
        )
        assert variant["userErrors"] == [] and variant["stock"] == 10, variant
        product.setdefault("variant_ids", []).append(variant["productVariant"]["id"])
    return product


async def test_a_new_product_with_two_variants_is_in_the_storefront_at_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    token = await staff_token(client, database_url)
    before = await graphql(client, SEARCH, {"q": "zanzibar mug"})  # cached, as storefronts ask it
    assert before["data"]["products"]["totalCount"] == 0

    product = await new_product(client, token, "Zanzibar Speckled Mug", 1800, 2400)

    found = await graphql(client, SEARCH, {"q": "zanzibar mug"})
    assert found["data"]["products"]["edges"] == [
        {"node": {"slug": "zanzibar-speckled-mug", "name": product["name"]}}
    ]
    typo = await graphql(client, SEARCH, {"q": "zanzibr"})  # the lexicon has the new word
    assert typo["data"]["products"]["totalCount"] == 1
    shown = await graphql(
        client,
        '{ product(slug: "zanzibar-speckled-mug") { name priceRange { min { amount } max { amount } }'
        " variants { sku quantityAvailable } images { url alt } category { slug } } }",
    )
    assert shown["data"]["product"]["priceRange"] == {"min": {"amount": 1800}, "max": {"amount": 2400}}
    assert [v["quantityAvailable"] for v in shown["data"]["product"]["variants"]] == [10, 10]
    ledger = await sql(database_url, "SELECT reason, delta FROM inventory_movements ORDER BY id")
    assert [tuple(row) for row in ledger] == [("initial", 10), ("initial", 10)]

    renamed = await staff_call(
        client,
        token,
        'mutation($id: ID!) { productUpdate(id: $id, input: {name: "Zanzibar Tall Mug"})'
        f" {{ {PRODUCT_FIELDS} userErrors {{ code }} }} }}",
        id=product["id"],
    )
    assert renamed["product"]["slug"] == "zanzibar-speckled-mug"
    again = await graphql(client, SEARCH, {"q": "tall zanzibar"})
    assert again["data"]["products"]["edges"][0]["node"]["name"] == "Zanzibar Tall Mug"


async def test_soft_deleted_products_vanish_but_orders_keep_their_lines(
    client: httpx.AsyncClient, database_url: str
) -> None:
    token = await staff_token(client, database_url)
    product = await new_product(client, token, "Quokka Enamel Pin", 900, 1200)
    first, second = product["variant_ids"]
    cart = await cart_add(client, [(first, 2)])
    order = await checkout(client, cart["cart"]["token"])
    assert order["userErrors"] == [], order

    deleted = await staff_call(
        client,
        token,
        f"mutation($id: ID!) {{ productDelete(id: $id) {{ {PRODUCT_FIELDS} userErrors {{ code }} }} }}",
        id=product["id"],
    )
    assert deleted["userErrors"] == []
    gone = await graphql(client, SEARCH, {"q": "quokka"})
    assert gone["data"]["products"]["totalCount"] == 0
    assert (await graphql(client, '{ product(slug: "quokka-enamel-pin") { id } }'))["data"]["product"] is None
    refused = await cart_add(client, [(second, 1)])
    assert codes(refused) == ["NOT_FOUND"]

    lines = await graphql(
        client,
        "query($id: ID!) { order(id: $id) { lines { sku productName quantity unitPrice { amount } } } }",
        {"id": order["order"]["id"]},
        token=token,
    )
    assert lines["data"]["order"]["lines"] == [
        {
            "sku": "QUOKKA-ENAMEL-PIN-0",
            "productName": "Quokka Enamel Pin",
            "quantity": 2,
            "unitPrice": {"amount": 900},
        }
    ]
    # Re-activation brings it back, the variant deleted meanwhile stays out.
    await staff_call(
        client,
        token,
        f"mutation($id: ID!) {{ productVariantDelete(id: $id) {{ {VARIANT_FIELDS} userErrors {{ code }} }} }}",
        id=second,
    )
    await staff_call(
        client,
        token,
        "mutation($id: ID!) { productUpdate(id: $id, input: {isActive: true}) { userErrors { code } } }",
        id=product["id"],
    )
    back = await graphql(client, '{ product(slug: "quokka-enamel-pin") { variants { sku } } }')
    assert back["data"]["product"]["variants"] == [{"sku": "QUOKKA-ENAMEL-PIN-0"}]


async def test_stock_never_goes_below_what_checkouts_hold(
    client: httpx.AsyncClient, database_url: str
) -> None:
    token = await staff_token(client, database_url)
    product = await new_product(client, token, "Capybara Tea Towel", 1500)
    (variant,) = product["variant_ids"]
    order = await checkout(client, (await cart_add(client, [(variant, 4)]))["cart"]["token"])
    assert order["userErrors"] == []

    refused = await staff_call(client, token, STOCK_ADJUST, v=variant, quantity=3, reason="CORRECTION")
    assert codes(refused) == ["STOCK_BELOW_RESERVED"] and refused["stock"] is None
    refused = await staff_call(client, token, STOCK_ADJUST, v=variant, delta=-7, reason="DAMAGED")
    assert codes(refused) == ["STOCK_BELOW_RESERVED"]
    done = await staff_call(client, token, STOCK_ADJUST, v=variant, delta=-6, reason="DAMAGED")
    assert (done["stock"], done["reserved"], done["movement"]) == (
        4,
        4,
        {"delta": -6, "quantityAfter": 4, "reason": "damaged"},
    )
    restocked = await staff_call(client, token, STOCK_ADJUST, v=variant, quantity=50, reason="RESTOCK")
    assert restocked["movement"]["delta"] == 46
    assert codes(await staff_call(client, token, STOCK_ADJUST, v=variant, reason="RESTOCK")) == [
        "INVALID_QUANTITY"
    ]


async def test_a_price_change_keeps_cart_price_locks(client: httpx.AsyncClient, database_url: str) -> None:
    token = await staff_token(client, database_url)
    product = await new_product(client, token, "Axolotl Plush", 2000)
    (variant,) = product["variant_ids"]
    cart_token = (await cart_add(client, [(variant, 1)]))["cart"]["token"]
    updated = await staff_call(
        client,
        token,
        f"mutation($id: ID!) {{ productVariantUpdate(id: $id, input: {{price: 2500}}) {{ {VARIANT_FIELDS} userErrors {{ code }} }} }}",
        id=variant,
    )
    assert updated["productVariant"]["price"] == {"amount": 2500}
    (line,) = (await read_cart(client, cart_token))["lines"]
    assert (line["unitPrice"]["amount"], line["priceChanged"], line["lineTotal"]["amount"]) == (
        2000,
        True,
        2000,
    )
    more = await cart_add(client, [(variant, 1)], cart_token=cart_token)
    assert more["cart"]["lines"][0]["lineTotal"]["amount"] == 4500


async def test_bad_input_is_a_user_error_never_a_half_applied_change(
    client: httpx.AsyncClient, database_url: str
) -> None:
    token = await staff_token(client, database_url)
    bad = await staff_call(
        client,
        token,
        PRODUCT_CREATE,
        input={"name": "", "slug": "Not A Slug", "images": [{"url": "javascript:x"}]},
    )
    assert codes(bad) == ["INVALID_NAME", "INVALID_SLUG", "INVALID_IMAGE"] and bad["product"] is None
    unknown = await staff_call(
        client,
        token,
        VARIANT_CREATE,
        input={"product": "UHJvZHVjdDo5OTk5OTk5", "sku": "X-1", "name": "X", "price": 5},
    )
    assert codes(unknown) == ["PRODUCT_NOT_FOUND"]
    product = await new_product(client, token, "Narwhal Mug", 1000)
    negative = await staff_call(
        client,
        token,
        VARIANT_CREATE,
        input={"product": product["id"], "sku": "NARWHAL-X", "name": "X", "price": -5},
    )
    assert codes(negative) == ["INVALID_PRICE"]
    assert await sql(database_url, "SELECT 1 FROM product_variants WHERE sku = 'NARWHAL-X'") == []
    cycle = await graphql(
        client,
        "mutation($id: ID!) { categoryMove(id: $id, parent: $id) { category { id } userErrors { code } } }",
        {"id": (await graphql(client, "{ categories { id } }"))["data"]["categories"][0]["id"]},
        token=token,
    )
    assert codes(cycle["data"]["categoryMove"]) == ["CATEGORY_CYCLE"]
    anonymous = await graphql(client, PRODUCT_CREATE, {"input": {"name": "Sneaky"}})
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


CATEGORY_CREATE = """
mutation($name: String!, $parent: ID) {
  categoryCreate(input: {name: $name, parent: $parent}) { category { id } userErrors { code } }
}
"""
CATEGORY_DELETE = (
    "mutation($id: ID!) { categoryDelete(id: $id) { category { id slug } userErrors { field code } } }"
)


async def test_only_an_empty_category_is_deleted(client: httpx.AsyncClient, database_url: str) -> None:
    token = await staff_token(client, database_url)
    parent = (await staff_call(client, token, CATEGORY_CREATE, name="Kites"))["category"]["id"]
    child = (await staff_call(client, token, CATEGORY_CREATE, name="Stunt Kites", parent=parent))["category"][
        "id"
    ]
    product = (
        await staff_call(client, token, PRODUCT_CREATE, input={"name": "Delta Kite", "category": child})
    )["product"]

    # A sub-category or a live product keeps it: nothing leaves the tree silently.
    for category in (parent, child):
        refused = await staff_call(client, token, CATEGORY_DELETE, id=category)
        assert refused == {"category": None, "userErrors": [{"field": ["id"], "code": "CATEGORY_NOT_EMPTY"}]}
    # A soft-deleted product does not; it is left without a category.
    await staff_call(
        client,
        token,
        f"mutation($id: ID!) {{ productDelete(id: $id) {{ {PRODUCT_FIELDS} }} }}",
        id=product["id"],
    )
    deleted = await staff_call(client, token, CATEGORY_DELETE, id=child)
    assert deleted["userErrors"] == [] and deleted["category"]["slug"] == "stunt-kites"
    assert (await staff_call(client, token, CATEGORY_DELETE, id=parent))["userErrors"] == []
    assert await sql(database_url, "SELECT 1 FROM categories WHERE slug IN ('kites', 'stunt-kites')") == []
    (row,) = await sql(database_url, "SELECT category_id FROM products WHERE slug = 'delta-kite'")
    assert row.category_id is None
    listed = (await graphql(client, "{ categories { slug } }"))["data"]["categories"]  # the cache was dropped
    assert "kites" not in {category["slug"] for category in listed}
    assert codes(await staff_call(client, token, CATEGORY_DELETE, id=child)) == ["NOT_FOUND"]
    assert error_codes(await graphql(client, CATEGORY_DELETE, {"id": parent})) == ["UNAUTHENTICATED"]
