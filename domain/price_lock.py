"""The cart price lock: the one rule for what a cart line's units cost.

A line keeps the unit price of the moment it was added for CART_PRICE_LOCK_TTL, but only for
the units added while that price was current (`locked_quantity`): units added after the price
changed cost the current price. When a line gets smaller, its unlocked units go first. Once
the lock has lapsed, every unit costs the current price, and the next addition locks the
current price anew for the whole line.

Whether a lock still holds is decided by the database clock, in one place
(models.cart_repository.price_lock_holds); everything else about prices is decided here, for
the cart view, cart arithmetic, merging and checkout alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Lock:
    """A line's lock as stored: `locked_quantity` units at `locked_price`, if `holds`."""

    locked_price: int
    locked_quantity: int
    holds: bool


@dataclass(slots=True, frozen=True)
class Relocked:
    """What a change writes: the lock's price and units, and whether its clock starts again now."""

    locked_price: int
    locked_quantity: int
    restart: bool


def charged_parts(quantity: int, current_price: int, lock: Lock) -> list[tuple[int, int]]:
    """The units of a line by the price they cost, as (units, unit price), locked units first."""
    locked = min(max(lock.locked_quantity, 0), quantity) if lock.holds else 0
    parts = [(locked, lock.locked_price), (quantity - locked, current_price)]
    if lock.locked_price == current_price:
        parts = [(quantity, current_price)]
    return [(units, price) for units, price in parts if units > 0]


def line_total(quantity: int, current_price: int, lock: Lock) -> int:
    return sum(units * price for units, price in charged_parts(quantity, current_price, lock))


def shown_unit_price(quantity: int, current_price: int, lock: Lock) -> int:
    """The line's `unitPrice`: the locked price while any of its units keeps it, else the current one."""
    if lock.holds and min(lock.locked_quantity, quantity) > 0:
        return lock.locked_price
    return current_price


def change_quantity(quantity: int, new_quantity: int, current_price: int, lock: Lock | None) -> Relocked:
    """The lock of a line going from `quantity` to `new_quantity` units (a new line has `lock` None).

    Units added while the locked price is current join the lock; units added at another price
    stay outside it; a removal takes unlocked units first. A new line, or one whose lock has
    lapsed, locks today's price for all its units from now.
    """
    if lock is None or not lock.holds:
        return Relocked(current_price, new_quantity, restart=True)
    locked = min(max(lock.locked_quantity, 0), quantity, new_quantity)
    if new_quantity > quantity and lock.locked_price == current_price:
        locked = min(lock.locked_quantity, quantity) + new_quantity - quantity
    return Relocked(lock.locked_price, locked, restart=False)
