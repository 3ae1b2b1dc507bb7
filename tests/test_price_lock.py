"""The price lock covers only the units added while the locked price was current (issue 12, item 3).

Properties of domain.price_lock against a model written here (each unit remembers whether it
was added at the locked price), then the attack through the HTTP API: 1 unit before a price
rise and 98 after must not buy 99 at the old price, in the cart nor at checkout.
"""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import price_lock
from domain.carts import MAX_LINE_QUANTITY
from tests.shop import cart_add, cart_update, checkout, in_stock_variants, order_row, read_cart
from tests.support import sql

PROPERTIES = settings(database=None, max_examples=400)
prices = st.integers(min_value=0, max_value=100_000)

# One step of a shopper's and a merchant's life with a line whose lock holds:
# the price changes, units are added, or the line is set to a quantity.
steps = st.one_of(
    st.tuples(st.just("price"), prices),
    st.tuples(st.just("add"), st.integers(1, MAX_LINE_QUANTITY)),
    st.tuples(st.just("set"), st.integers(1, MAX_LINE_QUANTITY)),
)


class Model:
    """Each unit is True when it was added while the locked price was current; removals take the others first."""

    def __init__(self, price: int, quantity: int) -> None:
        self.locked_price = price
        self.units = [True] * quantity

    def change(self, new_quantity: int, current: int) -> None:
        have = len(self.units)
        if new_quantity >= have:
            self.units += [current == self.locked_price] * (new_quantity - have)
        else:
            drop = have - new_quantity
            others = self.units.count(False)
            dropped_others = min(drop, others)
            self.units = [True] * (have - others - (drop - dropped_others)) + [False] * (
                others - dropped_others
            )

    def total(self, current: int) -> int:
        return sum(self.locked_price if unit else current for unit in self.units)


def _run(
    price: int, quantity: int, history: list[tuple[str, int]]
) -> tuple[Model, price_lock.Lock, int, int]:
    model = Model(price, quantity)
    start = price_lock.change_quantity(0, quantity, price, None)
    lock = price_lock.Lock(start.locked_price, start.locked_quantity, holds=True)
    current, have = price, quantity
    for kind, value in history:
        if kind == "price":
            current = value
            continue
        new_quantity = min(have + value, MAX_LINE_QUANTITY) if kind == "add" else value
        relocked = price_lock.change_quantity(have, new_quantity, current, lock)
        assert not relocked.restart, "a lock that holds is never restarted"
        lock = price_lock.Lock(relocked.locked_price, relocked.locked_quantity, holds=True)
        model.change(new_quantity, current)
        have = new_quantity
    return model, lock, current, have


@PROPERTIES
@given(price=prices, quantity=st.integers(1, MAX_LINE_QUANTITY), history=st.lists(steps, max_size=12))
def test_only_units_added_at_the_locked_price_keep_it(
    price: int, quantity: int, history: list[tuple[str, int]]
) -> None:
    model, lock, current, have = _run(price, quantity, history)
    assert price_lock.line_total(have, current, lock) == model.total(current)
    assert 0 <= min(lock.locked_quantity, have) <= sum(model.units)
    parts = price_lock.charged_parts(have, current, lock)
    assert sum(units for units, _ in parts) == have, "checkout charges every unit once"
    assert sum(units * unit for units, unit in parts) == model.total(current)
    assert all(unit in (lock.locked_price, current) for _, unit in parts)


@PROPERTIES
@given(
    price=prices,
    quantity=st.integers(1, MAX_LINE_QUANTITY),
    history=st.lists(steps, max_size=12),
    added=st.integers(1, MAX_LINE_QUANTITY),
)
def test_units_added_later_cost_the_current_price(
    price: int, quantity: int, history: list[tuple[str, int]], added: int
) -> None:
    _, lock, current, have = _run(price, quantity, history)
    relocked = price_lock.change_quantity(have, have + added, current, lock)
    after = price_lock.Lock(relocked.locked_price, relocked.locked_quantity, holds=True)
    before_total = price_lock.line_total(have, current, lock)
    assert price_lock.line_total(have + added, current, after) - before_total == added * current


@PROPERTIES
@given(price=prices, current=prices, quantity=st.integers(1, MAX_LINE_QUANTITY), locked=st.integers(0, 200))
def test_a_lapsed_lock_charges_today_and_an_addition_locks_today(
    price: int, current: int, quantity: int, locked: int
) -> None:
    lapsed = price_lock.Lock(price, locked, holds=False)
    assert price_lock.line_total(quantity, current, lapsed) == quantity * current
    assert price_lock.shown_unit_price(quantity, current, lapsed) == current
    relocked = price_lock.change_quantity(quantity, quantity + 1, current, lapsed)
    assert relocked == price_lock.Relocked(current, quantity + 1, restart=True)


# ---------------------------------------------------------------- the attack, over HTTP


async def test_adding_after_a_price_rise_does_not_buy_at_the_old_price(
    client: httpx.AsyncClient, database_url: str
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    await sql(
        database_url, "UPDATE product_variants SET stock = 500, reserved = 0 WHERE id = :id", id=variant["pk"]
    )
    old_price, new_price = variant["price"], variant["price"] + 1_000
    token = (await cart_add(client, [(variant["id"], 1)]))["cart"]["token"]
    await sql(
        database_url, "UPDATE product_variants SET price = :p WHERE id = :id", p=new_price, id=variant["pk"]
    )
    added = await cart_add(client, [(variant["id"], 98)], cart_token=token)
    assert added["userErrors"] == []
    (line,) = added["cart"]["lines"]
    expected = old_price + 98 * new_price
    assert line["quantity"] == 99 and line["lineTotal"]["amount"] == expected
    assert line["unitPrice"]["amount"] == old_price and line["priceChanged"] is True
    cart = await read_cart(client, token)
    assert cart is not None and cart["subtotal"]["amount"] == expected

    result = await checkout(client, token)
    assert result["userErrors"] == [] and result["order"]["subtotal"]["amount"] == expected
    lines = sorted((line["quantity"], line["unitPrice"]["amount"]) for line in result["order"]["lines"])
    assert lines == sorted([(1, old_price), (98, new_price)])
    row = await order_row(database_url, result["order"]["id"])
    assert row.subtotal == expected and row.total == expected + row.shipping + row.tax  # GB: VAT on top


async def test_removing_units_keeps_the_locked_ones_first(
    client: httpx.AsyncClient, database_url: str
) -> None:
    (variant,) = await in_stock_variants(database_url, 1)
    await sql(
        database_url, "UPDATE product_variants SET stock = 500, reserved = 0 WHERE id = :id", id=variant["pk"]
    )
    old_price, new_price = variant["price"], variant["price"] + 1_000
    token = (await cart_add(client, [(variant["id"], 2)]))["cart"]["token"]
    await sql(
        database_url, "UPDATE product_variants SET price = :p WHERE id = :id", p=new_price, id=variant["pk"]
    )
    added = await cart_add(client, [(variant["id"], 3)], cart_token=token)
    line_id = added["cart"]["lines"][0]["id"]
    updated = await cart_update(client, [(line_id, 3)], cart_token=token)
    (line,) = updated["cart"]["lines"]
    assert line["lineTotal"]["amount"] == 2 * old_price + new_price
