"""Properties of money and cart arithmetic, for any prices and quantities hypothesis can think of.

Totals are the sum of their lines and never negative; within the cart's caps (99 of a line, 100
lines, a subtotal of 2**31 - 1) no amount overflows the 32-bit Int that GraphQL sends money in;
merging carts never leaves those caps. The same holds through the HTTP API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.factory import create_app
from core.settings import Settings
from domain.cart_merge import plan_merge
from domain.cart_prices import cart_view, unit_price
from domain.carts import MAX_CART_LINES, MAX_CART_SUBTOTAL, MAX_LINE_QUANTITY
from graph.ids import to_global_id
from models.cart_repository import CartLineRow, CartRow
from models.catalog_repository import VariantRow
from tests.support import NO_RATE_LIMITS, serve_in_thread, sql

INT32_MAX = 2**31 - 1
LOCKED_AT = datetime(2026, 1, 1, tzinfo=UTC)
CART = CartRow(id=1, token="t", user_id=None, status="active")

prices = st.integers(min_value=0, max_value=INT32_MAX)
quantities = st.integers(min_value=1, max_value=MAX_LINE_QUANTITY)
VARIANT_IDS = st.integers(min_value=1, max_value=10**9)
# No example database in the working tree; a failure prints its example.
PROPERTIES = settings(database=None, max_examples=300)


@st.composite
def cart_lines(
    draw: st.DrawFn,
    *,
    max_lines: int = MAX_CART_LINES,
    budget: int | None = None,
    first_id: int = 1,
    variant_ids: st.SearchStrategy[int] = VARIANT_IDS,
) -> list[CartLineRow]:
    """Lines of one cart (one per variant). With a budget, their effective prices fit within it."""
    count = draw(st.integers(min_value=0, max_value=max_lines))
    ids = draw(st.lists(variant_ids, min_size=count, max_size=count, unique=True))
    lines = []
    for index, variant_id in enumerate(ids):
        quantity = draw(quantities)
        locked = draw(st.booleans())
        # Each line gets an equal share of the budget for its effective (locked or current) price.
        ceiling = INT32_MAX if budget is None else budget // count // quantity
        effective = draw(st.integers(0, ceiling))
        other = draw(prices)
        lines.append(
            CartLineRow(
                id=first_id + index,
                variant=VariantRow(
                    id=variant_id,
                    product_id=1,
                    sku=f"SKU-{variant_id}",
                    name="variant",
                    price=other if locked else effective,
                    quantity_available=draw(st.integers(-5, 500)),
                ),
                quantity=quantity,
                unit_price=effective if locked else other,
                price_locked_at=LOCKED_AT,
                price_locked=locked,
            )
        )
    return lines


def subtotal_of(lines: list[CartLineRow]) -> int:
    return sum(unit_price(line) * line.quantity for line in lines)


@PROPERTIES
@given(cart_lines())
def test_totals_are_the_sum_of_their_lines_and_never_negative(lines: list[CartLineRow]) -> None:
    view = cart_view(CART, lines)
    assert view.subtotal == sum(line.line_total for line in view.lines) >= 0
    assert view.total_quantity == sum(line.quantity for line in lines) >= 0
    for line, priced in zip(lines, view.lines, strict=True):
        expected_price = line.unit_price if line.price_locked else line.variant.price
        assert priced.unit_price == expected_price >= 0
        assert priced.line_total == expected_price * line.quantity
        assert priced.price_changed == (line.variant.price != expected_price)


@PROPERTIES
@given(cart_lines(budget=MAX_CART_SUBTOTAL))
def test_within_the_caps_no_amount_overflows_a_graphql_int(lines: list[CartLineRow]) -> None:
    view = cart_view(CART, lines)
    amounts = [view.subtotal, view.total_quantity]
    amounts += [amount for line in view.lines for amount in (line.unit_price, line.line_total, line.quantity)]
    assert all(0 <= amount <= INT32_MAX for amount in amounts)
    assert view.total_quantity <= MAX_LINE_QUANTITY * MAX_CART_LINES


@PROPERTIES
@given(
    target=cart_lines(budget=MAX_CART_SUBTOTAL, variant_ids=st.integers(1, 150)),
    source=cart_lines(first_id=1_000, variant_ids=st.integers(1, 150)),
)
def test_merging_carts_never_leaves_the_caps(target: list[CartLineRow], source: list[CartLineRow]) -> None:
    placements = plan_merge(source, target)
    existing = {line.variant.id: line for line in target}
    sources = {line.variant.id: line for line in source}
    merged = {variant_id: (unit_price(line), line.quantity) for variant_id, line in existing.items()}
    for placement in placements:
        mine = existing.get(placement.variant_id)
        theirs = sources[placement.variant_id]
        had = mine.quantity if mine else 0
        assert placement.quantity > had  # a merge only ever adds
        assert placement.quantity <= max(MAX_LINE_QUANTITY, had)
        assert placement.quantity <= max(theirs.variant.quantity_available, had)
        price = unit_price(mine) if mine else unit_price(theirs)
        merged[placement.variant_id] = (price, placement.quantity)
    assert len(merged) <= max(MAX_CART_LINES, len(target))
    subtotal = sum(price * quantity for price, quantity in merged.values())
    assert subtotal <= MAX_CART_SUBTOTAL
    assert subtotal >= subtotal_of(target)


# ---------------------------------------------------------------- through the HTTP API

ADD = (
    "mutation($t: String, $v: ID!, $q: Int!) { cartLinesAdd(cartToken: $t, lines: [{variantId: $v, quantity: $q}])"
    " { cart { token totalQuantity subtotal { amount } lines { quantity unitPrice { amount } lineTotal { amount }"
    " variant { id } } } userErrors { code } } }"
)
# Prices that reach the cap quickly, and the cap itself.
TEST_PRICES = (0, 1, 99, MAX_CART_SUBTOTAL // 150, MAX_CART_SUBTOTAL // 99, MAX_CART_SUBTOTAL)
STOCK = (1_000, 1_000, 5, 1_000, 1_000, 1_000)


@pytest.fixture
def priced_shop(settings: Settings, database_url: str) -> Iterator[tuple[str, list[tuple[str, int, int]]]]:
    rows = asyncio.run(
        sql(
            database_url,
            "SELECT v.id FROM product_variants v JOIN products p ON p.id = v.product_id"
            " WHERE p.is_active ORDER BY v.id LIMIT :n",
            n=len(TEST_PRICES),
        )
    )
    variants = []
    for row, price, stock in zip(rows, TEST_PRICES, STOCK, strict=True):
        asyncio.run(
            sql(
                database_url,
                "UPDATE product_variants SET price = :price, stock = :stock, reserved = 0 WHERE id = :id",
                price=price,
                stock=stock,
                id=row.id,
            )
        )
        variants.append((to_global_id("ProductVariant", row.id), price, stock))
    with serve_in_thread(create_app(settings.model_copy(update=NO_RATE_LIMITS))) as url:
        yield url, variants


def expected_refusal(have: dict[int, int], index: int, quantity: int, stock: int) -> str | None:
    total = have.get(index, 0) + quantity
    if total > MAX_LINE_QUANTITY:
        return "INVALID_QUANTITY"
    if total > stock:
        return "OUT_OF_STOCK"
    subtotal = sum(TEST_PRICES[i] * q for i, q in have.items()) + TEST_PRICES[index] * quantity
    return "INVALID_QUANTITY" if subtotal > MAX_CART_SUBTOTAL else None


def test_carts_over_http_keep_their_sums_and_caps(
    priced_shop: tuple[str, list[tuple[str, int, int]]],
) -> None:
    url, variants = priced_shop
    session = requests.Session()
    additions = st.lists(
        st.tuples(st.integers(0, len(variants) - 1), st.integers(1, MAX_LINE_QUANTITY)),
        min_size=1,
        max_size=6,
    )

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(additions)
    def shop(steps: list[tuple[int, int]]) -> None:
        token: str | None = None
        have: dict[int, int] = {}
        for index, quantity in steps:
            variant_id, _, stock = variants[index]
            answer: dict[str, Any] = session.post(
                f"{url}/graphql",
                json={"query": ADD, "variables": {"t": token, "v": variant_id, "q": quantity}},
                timeout=30,
            ).json()
            assert "errors" not in answer, answer
            payload = answer["data"]["cartLinesAdd"]
            refusal = expected_refusal(have, index, quantity, stock)
            if refusal is not None:
                assert [error["code"] for error in payload["userErrors"]] == [refusal] and payload[
                    "cart"
                ] is None
                continue
            assert payload["userErrors"] == [], payload
            cart = payload["cart"]
            token = cart["token"]
            have[index] = have.get(index, 0) + quantity
            lines = cart["lines"]
            assert cart["subtotal"]["amount"] == sum(line["lineTotal"]["amount"] for line in lines)
            assert cart["totalQuantity"] == sum(line["quantity"] for line in lines) == sum(have.values())
            for line in lines:
                assert line["lineTotal"]["amount"] == line["unitPrice"]["amount"] * line["quantity"]
            assert 0 <= cart["subtotal"]["amount"] <= MAX_CART_SUBTOTAL

    shop()
