"""Carts through /graphql: anonymous and signed-in carts, their lines, prices, merging, concurrency."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx

from graph.ids import to_global_id
from tests.accounts import login, register, signed_up
from tests.shop import cart_add, cart_remove, cart_update, in_stock_variants, read_cart, variant_with_stock
from tests.support import StatementCounter, codes, sql


def quantities(cart: dict[str, Any] | None) -> dict[str, int]:
    assert cart is not None
    return {line["variant"]["id"]: line["quantity"] for line in cart["lines"]}


async def set_stock(database_url: str, variant: dict[str, Any], stock: int) -> None:
    await sql(
        database_url,
        "UPDATE product_variants SET stock = :stock, reserved = 0 WHERE id = :id",
        stock=stock,
        id=variant["pk"],
    )


async def set_price(database_url: str, variant: dict[str, Any], price: int) -> None:
    await sql(
        database_url,
        "UPDATE product_variants SET price = :price WHERE id = :id",
        price=price,
        id=variant["pk"],
    )


async def cart_count(database_url: str) -> int:
    return len(await sql(database_url, "SELECT id FROM carts"))


# ---------------------------------------------------------------- anonymous carts


async def test_adding_signed_out_starts_an_anonymous_cart(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first, second = await in_stock_variants(database_url, 2)
    payload = await cart_add(client, [(first["id"], 2), (second["id"], 1)])
    assert payload["userErrors"] == []
    cart = payload["cart"]
    token = cart["token"]
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16  # 128 bits or more
    assert [(line["variant"]["id"], line["quantity"]) for line in cart["lines"]] == [
        (first["id"], 2),
        (second["id"], 1),
    ]
    for line, variant, quantity in zip(cart["lines"], (first, second), (2, 1), strict=True):
        assert line["unitPrice"] == {"amount": variant["price"], "currency": "usd"}
        assert line["lineTotal"] == {"amount": variant["price"] * quantity, "currency": "usd"}
        assert line["priceChanged"] is False
        assert base64.b64decode(line["id"]).decode().startswith("CartLine:")
    assert cart["totalQuantity"] == 3
    assert cart["subtotal"] == {"amount": first["price"] * 2 + second["price"], "currency": "usd"}
    assert await read_cart(client, token) == cart
    rows = await sql(database_url, "SELECT user_id, status FROM carts")
    assert [(row.user_id, row.status) for row in rows] == [(None, "active")]


async def test_each_anonymous_cart_gets_its_own_token(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    one = await cart_add(client, [(variant["id"], 1)])
    other = await cart_add(client, [(variant["id"], 1)])
    assert one["cart"]["token"] != other["cart"]["token"]


async def test_adding_a_variant_again_adds_to_its_line(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    token = (await cart_add(client, [(variant["id"], 2)]))["cart"]["token"]
    payload = await cart_add(client, [(variant["id"], 3), (variant["id"], 1)], cart_token=token)
    assert payload["userErrors"] == []
    assert quantities(payload["cart"]) == {variant["id"]: 6}
    assert payload["cart"]["totalQuantity"] == 6


async def test_unknown_token_reads_null_and_no_token_signed_out_reads_null(client: httpx.AsyncClient) -> None:
    assert await read_cart(client, "no-such-cart") is None
    assert await read_cart(client, None) is None


async def test_unknown_cart_token_is_cart_not_found(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    payload = await cart_add(client, [(variant["id"], 1)], cart_token="no-such-cart")
    assert payload == {
        "cart": None,
        "userErrors": [
            {"field": ["cartToken"], "message": "No cart with this token.", "code": "CART_NOT_FOUND"}
        ],
    }
    assert await cart_count(database_url) == 0
    assert codes(await cart_update(client, [], cart_token="no-such-cart")) == ["CART_NOT_FOUND"]
    assert codes(await cart_remove(client, [], cart_token="no-such-cart")) == ["CART_NOT_FOUND"]
    # Signed out and without a token there is no cart to change.
    assert codes(await cart_update(client, [])) == ["CART_NOT_FOUND"]
    assert codes(await cart_remove(client, [])) == ["CART_NOT_FOUND"]


# ---------------------------------------------------------------- validation


async def test_unknown_variant_is_not_found(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    for variant_id in (
        "not-an-id",
        to_global_id("ProductVariant", 999_999),
        to_global_id("Product", variant["pk"]),
    ):
        payload = await cart_add(client, [(variant["id"], 1), (variant_id, 1)])
        assert payload["cart"] is None
        assert payload["userErrors"] == [
            {"field": ["lines", "1", "variantId"], "message": "No such variant.", "code": "NOT_FOUND"}
        ]
    assert await cart_count(database_url) == 0


async def test_variant_of_an_inactive_product_is_not_for_sale(
    client: httpx.AsyncClient, database_url: str
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    token = (await cart_add(client, [(variant["id"], 1)]))["cart"]["token"]
    await sql(
        database_url,
        "UPDATE products SET is_active = false WHERE id = (SELECT product_id FROM product_variants WHERE id = :id)",
        id=variant["pk"],
    )
    assert codes(await cart_add(client, [(variant["id"], 1)], cart_token=token)) == ["NOT_FOUND"]
    cart = await read_cart(client, token)
    assert cart is not None and cart["lines"] == [] and cart["subtotal"]["amount"] == 0


async def test_quantities_must_be_between_1_and_99(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    await set_stock(database_url, variant, 500)
    for quantity in (0, -1, 100, 2**31 - 1):
        payload = await cart_add(client, [(variant["id"], quantity)])
        assert payload["userErrors"] == [
            {
                "field": ["lines", "0", "quantity"],
                "message": "Quantity must be between 1 and 99.",
                "code": "INVALID_QUANTITY",
            }
        ]
    assert await cart_count(database_url) == 0
    token = (await cart_add(client, [(variant["id"], 99)]))["cart"]["token"]
    # The line as a whole is capped too, so that amounts and counts stay within a GraphQL Int.
    payload = await cart_add(client, [(variant["id"], 1)], cart_token=token)
    assert payload["userErrors"] == [
        {
            "field": ["lines", "0", "quantity"],
            "message": "At most 99 of one item fit in a cart.",
            "code": "INVALID_QUANTITY",
        }
    ]


async def test_more_than_available_is_out_of_stock(client: httpx.AsyncClient, database_url: str) -> None:
    first, second = await in_stock_variants(database_url, 2)
    await set_stock(database_url, second, 3)
    token = (await cart_add(client, [(second["id"], 2)]))["cart"]["token"]
    payload = await cart_add(client, [(first["id"], 1), (second["id"], 2)], cart_token=token)
    assert payload["cart"] is None
    assert payload["userErrors"] == [
        {
            "field": ["lines", "1", "quantity"],
            "message": f"Only 3 of {_sku(payload, second)} available.",
            "code": "OUT_OF_STOCK",
        }
    ]
    # Nothing of the failed call was written, not even its valid line.
    assert quantities(await read_cart(client, token)) == {second["id"]: 2}
    # Reserved units are not available.
    await sql(database_url, "UPDATE product_variants SET reserved = 3 WHERE id = :id", id=second["pk"])
    assert codes(await cart_add(client, [(second["id"], 1)])) == ["OUT_OF_STOCK"]


def _sku(payload: dict[str, Any], variant: dict[str, Any]) -> str:
    message = payload["userErrors"][0]["message"]
    return message.removeprefix("Only 3 of ").removesuffix(" available.")


async def test_a_cart_holds_at_most_100_different_items(client: httpx.AsyncClient, database_url: str) -> None:
    variants = await in_stock_variants(database_url, 101, at_least=1)
    payload = await cart_add(client, [(variant["id"], 1) for variant in variants])
    assert payload["userErrors"] == [
        {
            "field": ["lines"],
            "message": "A cart holds at most 100 different items.",
            "code": "INVALID_QUANTITY",
        }
    ]
    token = (await cart_add(client, [(variant["id"], 1) for variant in variants[:100]]))["cart"]["token"]
    assert codes(await cart_add(client, [(variants[100]["id"], 1)], cart_token=token)) == ["INVALID_QUANTITY"]


async def test_cart_total_cannot_outgrow_a_graphql_int(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    await set_stock(database_url, variant, 500)
    await set_price(database_url, variant, 25_000_000)
    token = (await cart_add(client, [(variant["id"], 85)]))["cart"]["token"]  # 2,125,000,000
    payload = await cart_add(client, [(variant["id"], 1)], cart_token=token)
    assert payload["userErrors"] == [
        {
            "field": ["lines"],
            "message": "The cart's total would be larger than a cart can hold.",
            "code": "INVALID_QUANTITY",
        }
    ]
    assert (await read_cart(client, token))["subtotal"]["amount"] == 2_125_000_000  # type: ignore[index]


# ---------------------------------------------------------------- update and remove


async def test_update_sets_quantities_and_zero_removes(client: httpx.AsyncClient, database_url: str) -> None:
    first, second = await in_stock_variants(database_url, 2)
    cart = (await cart_add(client, [(first["id"], 1), (second["id"], 1)]))["cart"]
    line_one, line_two = (line["id"] for line in cart["lines"])
    payload = await cart_update(client, [(line_one, 5), (line_two, 0)], cart_token=cart["token"])
    assert payload["userErrors"] == []
    assert quantities(payload["cart"]) == {first["id"]: 5}
    assert payload["cart"]["lines"][0]["id"] == line_one
    assert payload["cart"]["subtotal"]["amount"] == first["price"] * 5


async def test_failed_update_changes_nothing(client: httpx.AsyncClient, database_url: str) -> None:
    first, second = await in_stock_variants(database_url, 2)
    await set_stock(database_url, second, 4)
    cart = (await cart_add(client, [(first["id"], 1), (second["id"], 1)]))["cart"]
    line_one, line_two = (line["id"] for line in cart["lines"])
    token = cart["token"]
    other_cart = (await cart_add(client, [(first["id"], 1)]))["cart"]

    cases = [
        ([(line_one, 3), (line_two, 5)], ["lines", "1", "quantity"], "OUT_OF_STOCK"),
        ([(line_one, 3), (line_two, -1)], ["lines", "1", "quantity"], "INVALID_QUANTITY"),
        ([(line_one, 3), (line_two, 100)], ["lines", "1", "quantity"], "INVALID_QUANTITY"),
        ([(line_one, 3), ("nonsense", 1)], ["lines", "1", "lineId"], "NOT_FOUND"),
        ([(line_one, 3), (other_cart["lines"][0]["id"], 1)], ["lines", "1", "lineId"], "NOT_FOUND"),
    ]
    for lines, field, code in cases:
        payload = await cart_update(client, lines, cart_token=token)
        assert payload["cart"] is None
        assert [(error["field"], error["code"]) for error in payload["userErrors"]] == [(field, code)]
    assert quantities(await read_cart(client, token)) == {first["id"]: 1, second["id"]: 1}


async def test_remove_lines(client: httpx.AsyncClient, database_url: str) -> None:
    first, second = await in_stock_variants(database_url, 2)
    cart = (await cart_add(client, [(first["id"], 1), (second["id"], 2)]))["cart"]
    line_one, line_two = (line["id"] for line in cart["lines"])
    token = cart["token"]

    failed = await cart_remove(client, [line_one, to_global_id("CartLine", 999_999)], cart_token=token)
    assert failed == {
        "cart": None,
        "userErrors": [{"field": ["lineIds", "1"], "message": "No such cart line.", "code": "NOT_FOUND"}],
    }
    assert quantities(await read_cart(client, token)) == {first["id"]: 1, second["id"]: 2}

    payload = await cart_remove(client, [line_one], cart_token=token)
    assert payload["userErrors"] == []
    assert quantities(payload["cart"]) == {second["id"]: 2}
    assert [line["id"] for line in payload["cart"]["lines"]] == [line_two]


# ---------------------------------------------------------------- prices


async def test_a_line_keeps_its_price_while_the_lock_holds(
    client: httpx.AsyncClient, database_url: str
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    old_price, new_price = variant["price"], variant["price"] + 500
    token = (await cart_add(client, [(variant["id"], 2)]))["cart"]["token"]
    await set_price(database_url, variant, new_price)

    cart = await read_cart(client, token)
    assert cart is not None
    (line,) = cart["lines"]
    assert line["unitPrice"]["amount"] == old_price
    assert line["variant"]["price"]["amount"] == new_price
    assert line["priceChanged"] is True
    assert line["lineTotal"]["amount"] == old_price * 2
    assert cart["subtotal"]["amount"] == old_price * 2
    # Adding more keeps the locked price for the whole line.
    added = await cart_add(client, [(variant["id"], 1)], cart_token=token)
    assert added["cart"]["lines"][0]["unitPrice"]["amount"] == old_price


async def test_after_the_lock_a_line_takes_the_current_price(
    client: httpx.AsyncClient, database_url: str, settings: Any
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    new_price = variant["price"] + 700
    token = (await cart_add(client, [(variant["id"], 2)]))["cart"]["token"]
    await set_price(database_url, variant, new_price)
    await sql(
        database_url,
        "UPDATE cart_lines SET price_locked_at = now() - make_interval(secs => :ttl + 1)",
        ttl=settings.cart_price_lock_ttl,
    )
    cart = await read_cart(client, token)
    assert cart is not None
    (line,) = cart["lines"]
    assert line["unitPrice"]["amount"] == new_price
    assert line["priceChanged"] is False
    assert cart["subtotal"]["amount"] == new_price * 2
    # Adding to a line whose lock lapsed locks the current price anew.
    await cart_add(client, [(variant["id"], 1)], cart_token=token)
    (row,) = await sql(
        database_url,
        "SELECT unit_price, price_locked_at > now() - interval '1 minute' AS fresh FROM cart_lines",
    )
    assert row.unit_price == new_price and row.fresh


async def test_the_cart_an_addition_returns_is_the_cart_read_back(
    client: httpx.AsyncClient, database_url: str, settings: Any
) -> None:
    """cartLinesAdd builds its answer from what it read and wrote, without reading the cart again."""
    lapsed, locked, untouched, new = await in_stock_variants(database_url, 4)
    token = (await cart_add(client, [(lapsed["id"], 1), (locked["id"], 2), (untouched["id"], 3)]))["cart"][
        "token"
    ]
    await set_price(database_url, lapsed, lapsed["price"] + 300)
    await set_price(database_url, locked, locked["price"] + 500)
    await sql(
        database_url,
        "UPDATE cart_lines SET price_locked_at = now() - make_interval(secs => :ttl + 1)"
        " WHERE variant_id = :variant_id",
        ttl=settings.cart_price_lock_ttl,
        variant_id=lapsed["pk"],
    )
    added = await cart_add(client, [(new["id"], 1), (lapsed["id"], 1), (locked["id"], 1)], cart_token=token)
    assert added["userErrors"] == []
    read_back = await read_cart(client, token)
    assert added["cart"] == read_back
    prices = {line["variant"]["id"]: line["unitPrice"]["amount"] for line in read_back["lines"]}
    assert prices[lapsed["id"]] == lapsed["price"] + 300  # locked anew at the current price
    assert prices[locked["id"]] == locked["price"]  # still the price it was added at
    assert quantities(read_back) == {lapsed["id"]: 2, locked["id"]: 3, untouched["id"]: 3, new["id"]: 1}


# ---------------------------------------------------------------- signed-in carts


async def test_signed_in_user_has_one_cart_found_without_a_token(
    client: httpx.AsyncClient, database_url: str
) -> None:
    user = await signed_up(client)
    access = user["accessToken"]
    first, second = await in_stock_variants(database_url, 2)
    one = await cart_add(client, [(first["id"], 1)], token=access)
    two = await cart_add(client, [(second["id"], 2)], token=access)
    assert one["cart"]["token"] == two["cart"]["token"]
    assert quantities(await read_cart(client, token=access)) == {first["id"]: 1, second["id"]: 2}
    rows = await sql(database_url, "SELECT user_id FROM carts")
    assert len(rows) == 1 and rows[0].user_id is not None
    line_id = two["cart"]["lines"][1]["id"]
    assert (await cart_update(client, [(line_id, 3)], token=access))["userErrors"] == []
    assert quantities((await cart_remove(client, [line_id], token=access))["cart"]) == {first["id"]: 1}


async def test_signed_in_without_a_cart_has_none(client: httpx.AsyncClient) -> None:
    user = await signed_up(client)
    assert await read_cart(client, token=user["accessToken"]) is None
    assert codes(await cart_update(client, [], token=user["accessToken"])) == ["CART_NOT_FOUND"]


async def test_a_users_cart_is_invisible_to_everyone_else(
    client: httpx.AsyncClient, database_url: str
) -> None:
    owner = await signed_up(client)
    stranger = await signed_up(client)
    (variant,) = await in_stock_variants(database_url, 1)
    cart = (await cart_add(client, [(variant["id"], 1)], token=owner["accessToken"]))["cart"]
    token, line_id = cart["token"], cart["lines"][0]["id"]

    assert await read_cart(client, token, token=owner["accessToken"]) == cart
    for access in (None, stranger["accessToken"]):
        assert await read_cart(client, token, token=access) is None
        assert codes(await cart_add(client, [(variant["id"], 1)], cart_token=token, token=access)) == [
            "CART_NOT_FOUND"
        ]
        assert codes(await cart_update(client, [(line_id, 5)], cart_token=token, token=access)) == [
            "CART_NOT_FOUND"
        ]
        assert codes(await cart_remove(client, [line_id], cart_token=token, token=access)) == [
            "CART_NOT_FOUND"
        ]
    assert await read_cart(client, token=stranger["accessToken"]) is None
    assert await read_cart(client, token, token=owner["accessToken"]) == cart


async def test_signed_in_user_may_use_an_anonymous_cart_by_token(
    client: httpx.AsyncClient, database_url: str
) -> None:
    user = await signed_up(client)
    (variant,) = await in_stock_variants(database_url, 1)
    token = (await cart_add(client, [(variant["id"], 1)]))["cart"]["token"]
    payload = await cart_add(client, [(variant["id"], 1)], cart_token=token, token=user["accessToken"])
    assert quantities(payload["cart"]) == {variant["id"]: 2}
    assert await read_cart(client, token=user["accessToken"]) is None  # still not the user's cart


# ---------------------------------------------------------------- merging


async def test_login_merges_the_anonymous_cart(client: httpx.AsyncClient, database_url: str) -> None:
    user = await signed_up(client)
    email = user["user"]["email"]
    shared, only_anonymous, only_user = await in_stock_variants(database_url, 3)
    await cart_add(client, [(shared["id"], 3), (only_user["id"], 1)], token=user["accessToken"])
    anonymous = (await cart_add(client, [(shared["id"], 2), (only_anonymous["id"], 4)]))["cart"]

    payload = await login(client, email, cart_token=anonymous["token"])
    assert payload["userErrors"] == []
    merged = payload["cart"]
    assert quantities(merged) == {shared["id"]: 5, only_user["id"]: 1, only_anonymous["id"]: 4}
    assert merged["totalQuantity"] == 10
    assert merged["token"] != anonymous["token"]
    assert quantities(await read_cart(client, token=payload["accessToken"])) == quantities(merged)
    # The anonymous cart is retired.
    assert await read_cart(client, anonymous["token"]) is None
    assert codes(await cart_add(client, [(shared["id"], 1)], cart_token=anonymous["token"])) == [
        "CART_NOT_FOUND"
    ]
    statuses = await sql(database_url, "SELECT status FROM carts WHERE token = :t", t=anonymous["token"])
    assert [row.status for row in statuses] == ["merged"]
    # Presenting it again merges nothing more.
    again = await login(client, email, cart_token=anonymous["token"])
    assert again["userErrors"] == [] and quantities(again["cart"]) == quantities(merged)


async def test_merged_quantities_are_capped_at_what_is_available(
    client: httpx.AsyncClient, database_url: str
) -> None:
    user = await signed_up(client)
    (variant,) = await in_stock_variants(database_url, 1)
    await cart_add(client, [(variant["id"], 3)], token=user["accessToken"])
    anonymous = (await cart_add(client, [(variant["id"], 3)]))["cart"]
    await set_stock(database_url, variant, 4)
    payload = await login(client, user["user"]["email"], cart_token=anonymous["token"])
    assert quantities(payload["cart"]) == {variant["id"]: 4}


async def test_register_with_a_cart_token_takes_the_anonymous_cart(
    client: httpx.AsyncClient, database_url: str
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    anonymous = (await cart_add(client, [(variant["id"], 2)]))["cart"]
    payload = await register(client, cart_token=anonymous["token"])
    assert payload["userErrors"] == []
    assert quantities(payload["cart"]) == {variant["id"]: 2}
    assert quantities(await read_cart(client, token=payload["accessToken"])) == {variant["id"]: 2}
    assert await read_cart(client, anonymous["token"]) is None


async def test_signing_in_with_a_stale_or_foreign_cart_token_merges_nothing(
    client: httpx.AsyncClient, database_url: str
) -> None:
    owner = await signed_up(client)
    (variant,) = await in_stock_variants(database_url, 1)
    owners_cart = (await cart_add(client, [(variant["id"], 1)], token=owner["accessToken"]))["cart"]
    other = await signed_up(client)

    payload = await login(client, other["user"]["email"], cart_token=owners_cart["token"])
    assert payload["userErrors"] == [] and payload["cart"] is None
    assert (await login(client, other["user"]["email"], cart_token="no-such-cart"))["userErrors"] == []
    assert await read_cart(client, owners_cart["token"], token=owner["accessToken"]) == owners_cart


# ---------------------------------------------------------------- concurrency


async def test_concurrent_adds_end_as_one_line_with_the_sum(
    client: httpx.AsyncClient, database_url: str
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    await set_stock(database_url, variant, 100)
    token = (await cart_add(client, [(variant["id"], 1)]))["cart"]["token"]
    results = await asyncio.gather(
        *(cart_add(client, [(variant["id"], 1)], cart_token=token) for _ in range(20))
    )
    assert all(result["userErrors"] == [] for result in results)
    assert quantities(await read_cart(client, token)) == {variant["id"]: 21}
    rows = await sql(database_url, "SELECT quantity FROM cart_lines")
    assert [row.quantity for row in rows] == [21]


async def test_stock_check_holds_under_concurrency(client: httpx.AsyncClient, database_url: str) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    await set_stock(database_url, variant, 5)
    token = (await cart_add(client, [(variant["id"], 1)]))["cart"]["token"]
    results = await asyncio.gather(
        *(cart_add(client, [(variant["id"], 1)], cart_token=token) for _ in range(20))
    )
    assert sorted(codes(result)[0] if result["userErrors"] else "OK" for result in results) == (
        ["OK"] * 4 + ["OUT_OF_STOCK"] * 16
    )
    assert quantities(await read_cart(client, token)) == {variant["id"]: 5}


async def test_concurrent_first_adds_of_a_user_make_one_cart(
    client: httpx.AsyncClient, database_url: str
) -> None:
    user = await signed_up(client)
    (variant,) = await in_stock_variants(database_url, 1)
    await set_stock(database_url, variant, 100)
    results = await asyncio.gather(
        *(cart_add(client, [(variant["id"], 1)], token=user["accessToken"]) for _ in range(10))
    )
    assert all(result["userErrors"] == [] for result in results)
    assert len({result["cart"]["token"] for result in results}) == 1
    assert quantities(await read_cart(client, token=user["accessToken"])) == {variant["id"]: 10}
    assert await cart_count(database_url) == 1


# ---------------------------------------------------------------- statements


async def test_adding_to_an_existing_cart_costs_three_statements(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter
) -> None:
    first, second = await in_stock_variants(database_url, 2)
    token = (await cart_add(client, [(first["id"], 1)]))["cart"]["token"]
    sql_statements.reset()
    payload = await cart_add(client, [(first["id"], 1), (second["id"], 2)], cart_token=token)
    assert payload["userErrors"] == [] and len(payload["cart"]["lines"]) == 2
    # lock the cart; read its lines and the new variants; upsert the lines, which return themselves
    assert sql_statements.count == 3, sql_statements.statements


async def test_starting_a_cart_costs_three_statements_and_no_transaction(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter, behind_pooler: bool
) -> None:
    first, second = await in_stock_variants(database_url, 2)
    payload = await cart_add(client, [(first["id"], 1), (second["id"], 2)])
    assert payload["userErrors"] == [] and len(payload["cart"]["lines"]) == 2
    # the rate limit's count (RATE_LIMIT_CART); read the variants; insert the cart with its
    # lines (domain.carts.start_cart)
    assert sql_statements.count == 3, sql_statements.statements
    assert "rate_limit_counters" in sql_statements.statements[0]
    assert "INSERT INTO carts" in sql_statements.statements[2]
    assert "INSERT INTO cart_lines" in sql_statements.statements[2]
    # nothing to lock, so no transaction: each statement is its own (behind a pooler, the count
    # is one and the read with the insert another)
    expected = ["BEGIN", "COMMIT"] * 2 if behind_pooler else []
    assert sql_statements.transaction_control == expected, sql_statements.transaction_control
    assert await read_cart(client, payload["cart"]["token"]) == payload["cart"]


async def test_a_refused_start_writes_no_cart(client: httpx.AsyncClient, database_url: str) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 5)
    refused = await cart_add(client, [(variant_id, 1), (variant_id, 5)])  # 6 of the 5 there are
    assert codes(refused) == ["OUT_OF_STOCK"] and refused["cart"] is None
    assert await cart_count(database_url) == 0
    assert await sql(database_url, "SELECT id FROM cart_lines") == []


async def test_adding_signed_in_costs_one_statement_more(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter
) -> None:
    user = await signed_up(client)
    first, second = await in_stock_variants(database_url, 2)
    await cart_add(client, [(first["id"], 1)], token=user["accessToken"])
    sql_statements.reset()
    payload = await cart_add(client, [(first["id"], 1), (second["id"], 2)], token=user["accessToken"])
    assert payload["userErrors"] == [] and len(payload["cart"]["lines"]) == 2
    # the viewer, then the same three
    assert sql_statements.count == 4, sql_statements.statements


async def test_reading_a_cart_costs_one_statement(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter
) -> None:
    variants = await in_stock_variants(database_url, 5)
    token = (await cart_add(client, [(variant["id"], 1) for variant in variants]))["cart"]["token"]
    sql_statements.reset()
    cart = await read_cart(client, token)
    assert cart is not None and len(cart["lines"]) == 5
    # the cart with its lines and their variants; the variants are not read again for `variant`
    assert sql_statements.count == 1, sql_statements.statements


async def test_reading_the_signed_in_cart_costs_two_statements(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter
) -> None:
    user = await signed_up(client)
    variants = await in_stock_variants(database_url, 5)
    await cart_add(client, [(variant["id"], 1) for variant in variants], token=user["accessToken"])
    sql_statements.reset()
    cart = await read_cart(client, token=user["accessToken"])
    assert cart is not None and len(cart["lines"]) == 5
    # the viewer, then the cart with its lines
    assert sql_statements.count == 2, sql_statements.statements
