"""What a cart costs: each line priced by its price lock (domain.price_lock), and the cart's view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain import price_lock
from models.cart_repository import CartLineRow, CartRow, LineWrite
from models.catalog_repository import VariantRow


@dataclass(slots=True, frozen=True)
class PricedLine:
    id: int
    variant: VariantRow
    quantity: int
    unit_price: int
    line_total: int
    price_changed: bool


@dataclass(slots=True, frozen=True)
class CartView:
    id: int
    token: str
    user_id: int | None
    lines: tuple[PricedLine, ...]
    total_quantity: int
    subtotal: int


def lock_of(line: CartLineRow) -> price_lock.Lock:
    locked = line.quantity if line.locked_quantity is None else line.locked_quantity
    return price_lock.Lock(locked_price=line.unit_price, locked_quantity=locked, holds=line.price_locked)


def unit_price(line: CartLineRow) -> int:
    """The price locked when the line was added while the lock holds, then the current price."""
    return price_lock.shown_unit_price(line.quantity, line.variant.price, lock_of(line))


def line_total(line: CartLineRow, quantity: int | None = None) -> int:
    """What the line costs (with `quantity` units: as a change would leave it), by domain.price_lock."""
    if quantity is None:
        return price_lock.line_total(line.quantity, line.variant.price, lock_of(line))
    relocked = price_lock.change_quantity(line.quantity, quantity, line.variant.price, lock_of(line))
    lock = price_lock.Lock(relocked.locked_price, relocked.locked_quantity, holds=True)
    return price_lock.line_total(quantity, line.variant.price, lock)


def priced_line(line: CartLineRow) -> PricedLine:
    price = unit_price(line)
    return PricedLine(
        id=line.id,
        variant=line.variant,
        quantity=line.quantity,
        unit_price=price,
        line_total=line_total(line),
        price_changed=line.variant.price != price,
    )


def line_write(line: CartLineRow | None, variant: VariantRow, quantity: int) -> LineWrite:
    """A line (or a new one) changed to `quantity` units, its lock following domain.price_lock."""
    have = line.quantity if line else 0
    relocked = price_lock.change_quantity(have, quantity, variant.price, lock_of(line) if line else None)
    return LineWrite(
        variant_id=variant.id,
        quantity=quantity,
        unit_price=relocked.locked_price,
        locked_quantity=relocked.locked_quantity,
        price_locked_at=None if relocked.restart or line is None else line.price_locked_at,
    )


def cart_view(cart: CartRow, lines: Sequence[CartLineRow]) -> CartView:
    priced = tuple(priced_line(line) for line in lines)
    return CartView(
        id=cart.id,
        token=cart.token,
        user_id=cart.user_id,
        lines=priced,
        total_quantity=sum(line.quantity for line in priced),
        subtotal=sum(line.line_total for line in priced),
    )
