"""One shopper cannot take the store's stock off sale (issue 12, item 2).

The attack: many unpaid checkouts at once from one client, rotating e-mail addresses (or from
many addresses with one e-mail), with carts as large as carts allow. The checkout rate limit is
off here, so what stops it is the holding caps; the tests read what stock is reserved afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.shop import ADD, ADDRESS, CHECKOUT, serve, variant_with_stock
from tests.support import NO_RATE_LIMITS, codes, sql

ATTEMPTS = 16
Shop = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def shop_with(settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """Start the sandbox application with settings changed (tests.support.NO_RATE_LIMITS, then `changes`)."""
    async with contextlib.AsyncExitStack() as started:

        async def start(**changes: Any) -> httpx.AsyncClient:
            running = await started.enter_async_context(
                serve(settings.model_copy(update={**NO_RATE_LIMITS, **changes}))
            )
            limits = httpx.Limits(max_connections=40)
            client = httpx.AsyncClient(base_url=running.url, timeout=60, limits=limits)
            return await started.enter_async_context(client)

        yield start


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], address: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"X-Forwarded-For": address}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def cart_of(client: httpx.AsyncClient, lines: list[tuple[str, int]], address: str) -> str:
    data = await post(
        client,
        ADD,
        {"lines": [{"variantId": variant, "quantity": quantity} for variant, quantity in lines]},
        address,
    )
    assert data["cartLinesAdd"]["userErrors"] == [], data
    return data["cartLinesAdd"]["cart"]["token"]


async def checkout(client: httpx.AsyncClient, cart: str, email: str, address: str) -> dict[str, Any]:
    data = await post(client, CHECKOUT, {"cartToken": cart, "email": email, "address": ADDRESS}, address)
    return data["checkoutCreate"]


async def reserved(database_url: str) -> int:
    (row,) = await sql(database_url, "SELECT coalesce(sum(reserved), 0) AS held FROM product_variants")
    return int(row.held)


async def open_orders(database_url: str) -> int:
    (row,) = await sql(database_url, "SELECT count(*) AS n FROM orders WHERE status = 'AWAITING_PAYMENT'")
    return int(row.n)


async def _variants(database_url: str, count: int, stock: int) -> list[str]:
    return [(await variant_with_stock(database_url, stock, offset))[0] for offset in range(count)]


async def test_one_address_rotating_emails_holds_at_most_the_open_order_cap(
    shop_with: Shop, database_url: str
) -> None:
    client = await shop_with(order_max_open=10)  # the default, stated
    variants = await _variants(database_url, 2, 10_000)
    address = "198.51.100.7"
    # Carts at the per-order cap (100 units), as many as the attacker likes, checked out at once.
    carts = [await cart_of(client, [(variants[0], 50), (variants[1], 50)], address) for _ in range(ATTEMPTS)]
    results = await asyncio.gather(
        *(checkout(client, cart, f"attacker{n}@example.com", address) for n, cart in enumerate(carts))
    )
    accepted = [result for result in results if result["order"]]
    refused = [result for result in results if not result["order"]]
    assert len(accepted) == 10 and len(refused) == ATTEMPTS - 10
    assert all(codes(result) == ["TOO_MANY_OPEN_ORDERS"] for result in refused)
    assert "At most 10 orders may await payment" in refused[0]["userErrors"][0]["message"]
    assert await open_orders(database_url) == 10
    assert await reserved(database_url) == 10 * 100, "nothing beyond the cap is held, nothing half-reserved"


async def test_many_addresses_with_one_email_are_one_shopper(shop_with: Shop, database_url: str) -> None:
    client = await shop_with(order_max_open=3)
    (variant,) = await _variants(database_url, 1, 10_000)
    carts = [await cart_of(client, [(variant, 20)], f"203.0.113.{n + 1}") for n in range(8)]
    results = await asyncio.gather(
        *(checkout(client, cart, "Hoarder@Example.com", f"203.0.113.{n + 1}") for n, cart in enumerate(carts))
    )
    assert sum(1 for result in results if result["order"]) == 3
    assert await reserved(database_url) == 3 * 20
    # Another shopper, from one of those addresses, is not held back by the hoarder's e-mail.
    other = await checkout(
        client, await cart_of(client, [(variant, 1)], "192.0.2.99"), "other@example.com", "192.0.2.99"
    )
    assert other["userErrors"] == [] and other["order"]["status"] == "AWAITING_PAYMENT"


async def test_paying_or_cancelling_frees_an_open_order_slot(shop_with: Shop, database_url: str) -> None:
    client = await shop_with(order_max_open=1)
    (variant,) = await _variants(database_url, 1, 100)
    first = await checkout(
        client, await cart_of(client, [(variant, 1)], "192.0.2.5"), "a@example.com", "192.0.2.5"
    )
    second_cart = await cart_of(client, [(variant, 1)], "192.0.2.5")
    refused = await checkout(client, second_cart, "a@example.com", "192.0.2.5")
    assert codes(refused) == ["TOO_MANY_OPEN_ORDERS"]
    cancel = "mutation($id: ID!, $t: String) { orderCancel(id: $id, orderToken: $t) { userErrors { code } } }"
    cancelled = await post(
        client, cancel, {"id": first["order"]["id"], "t": first["orderToken"]}, "192.0.2.5"
    )
    assert cancelled["orderCancel"]["userErrors"] == []
    again = await checkout(client, second_cart, "a@example.com", "192.0.2.5")
    assert again["userErrors"] == [], "the refused cart is still there to check out"


async def test_order_size_caps_say_what_is_allowed_and_hold_nothing(
    shop_with: Shop, database_url: str
) -> None:
    client = await shop_with(order_max_line_quantity=10)
    variants = await _variants(database_url, 3, 1_000)
    too_many_of_one = await checkout(
        client, await cart_of(client, [(variants[0], 11)], "192.0.2.1"), "s@example.com", "192.0.2.1"
    )
    assert codes(too_many_of_one) == ["LINE_QUANTITY_LIMIT"]
    assert "at most 10 of one item" in too_many_of_one["userErrors"][0]["message"]
    assert "from 11 to 10" in too_many_of_one["userErrors"][0]["message"]

    client = await shop_with()
    big = await cart_of(client, [(variants[0], 99), (variants[1], 99), (variants[2], 99)], "192.0.2.2")
    too_big = await checkout(client, big, "s@example.com", "192.0.2.2")
    assert codes(too_big) == ["ORDER_QUANTITY_LIMIT"]
    assert too_big["userErrors"][0]["message"] == "An order may hold at most 100 items; this cart has 297."
    assert await reserved(database_url) == 0 and await open_orders(database_url) == 0


async def test_one_order_takes_at_most_a_share_of_scarce_stock(shop_with: Shop, database_url: str) -> None:
    client = await shop_with()
    variant, pk, _ = await variant_with_stock(database_url, 20)
    greedy = await checkout(
        client, await cart_of(client, [(variant, 11)], "192.0.2.3"), "g@example.com", "192.0.2.3"
    )
    assert codes(greedy) == ["STOCK_SHARE_LIMIT"]
    assert "at most 10 of it" in greedy["userErrors"][0]["message"]
    assert await reserved(database_url) == 0
    fair = await checkout(
        client, await cart_of(client, [(variant, 10)], "192.0.2.3"), "g@example.com", "192.0.2.3"
    )
    assert fair["userErrors"] == []
    # The last few units can always be bought: 5 of the 10 left is the floor.
    last = await checkout(
        client, await cart_of(client, [(variant, 5)], "192.0.2.4"), "h@example.com", "192.0.2.4"
    )
    assert last["userErrors"] == []
    (row,) = await sql(database_url, "SELECT stock, reserved FROM product_variants WHERE id = :id", id=pk)
    assert (row.stock, row.reserved) == (20, 15)
