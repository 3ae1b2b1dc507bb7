"""How much one shopper may hold unpaid: the caps that keep stock on sale for everyone else.

Checkout reserves stock until the order is paid or RESERVATION_TTL runs out. So that one client
cannot take the store off sale, an order holds at most ORDER_MAX_LINE_QUANTITY units of one item
and ORDER_MAX_UNITS units in all; a shopper (counted by customer, by e-mail and by client
address, each on its own) has at most ORDER_MAX_OPEN orders awaiting payment; and where stock is
scarce, one order takes at most ORDER_MAX_STOCK_SHARE percent of a variant's units on sale
(always at least ORDER_STOCK_SHARE_FLOOR, so the last few units can be bought). Each refusal is
a userError that says what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.pii import keyed_digest
from domain.errors import CheckoutCode, Problem
from domain.rate_limits import UNKNOWN_ADDRESS, address_key
from models.holding_repository import OpenOrders, Shopper

FIELD = ("cart_token",)


@dataclass(slots=True, frozen=True)
class HoldingLimits:
    max_line_quantity: int = 99
    max_units: int = 100
    max_open: int = 10
    stock_share: int = 50  # percent; 100 turns the scarce-stock cap off
    share_floor: int = 5


def shopper(user_id: int | None, email: str | None, client_address: str | None) -> Shopper:
    """The shopper's identities; an unknown client address is not one (it would join strangers)."""
    key = address_key(client_address)
    # Keyed like the rate-limit counters: the IPv4 space is small enough to hash every address.
    client_key = None if key == UNKNOWN_ADDRESS else keyed_digest(key.encode("utf-8", "surrogatepass"))
    return Shopper(user_id=user_id, email=email or None, client_key=client_key)


@dataclass(slots=True, frozen=True)
class Wanted:
    variant_id: int
    sku: str
    quantity: int


def size_problems(limits: HoldingLimits, lines: Sequence[Wanted]) -> list[Problem]:
    """Per-item and per-order unit caps: decided from the cart alone."""
    problems = [
        Problem(
            CheckoutCode.LINE_QUANTITY_LIMIT,
            f"An order may hold at most {limits.max_line_quantity} of one item: reduce {line.sku}"
            f" from {line.quantity} to {limits.max_line_quantity}.",
            FIELD,
        )
        for line in lines
        if line.quantity > limits.max_line_quantity
    ]
    units = sum(line.quantity for line in lines)
    if units > limits.max_units:
        problems.append(
            Problem(
                CheckoutCode.ORDER_QUANTITY_LIMIT,
                f"An order may hold at most {limits.max_units} items; this cart has {units}.",
                FIELD,
            )
        )
    return problems


def open_order_problems(limits: HoldingLimits, opened: OpenOrders) -> list[Problem]:
    """The open-order cap, from the shopper's orders awaiting payment as the checkout's transaction
    counted them once it held the shopper's lock (models.checkout_repository.claim_cart and
    claimed_lines), so two checkouts at once cannot both pass the count.
    """
    if max(opened.by_user, opened.by_email, opened.by_client) >= limits.max_open:
        return [
            Problem(
                CheckoutCode.TOO_MANY_OPEN_ORDERS,
                f"At most {limits.max_open} orders may await payment at a time:"
                " pay for or cancel one of them first.",
                FIELD,
            )
        ]
    return []


def reservation_problems(
    limits: HoldingLimits, lines: Sequence[Wanted], left: Mapping[int, int]
) -> list[Problem]:
    """The scarce-stock cap, from what the checkout's reservation left on sale (read under its lock)."""
    if limits.stock_share >= 100:
        return []
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
    return share_problems(limits, lines, wanted, left)


def allowance(limits: HoldingLimits, on_sale: int) -> int:
    """How many of a variant's `on_sale` units one order may take: a share, never less than the floor."""
    return min(on_sale, max(limits.share_floor, on_sale * limits.stock_share // 100))


def share_problems(
    limits: HoldingLimits, lines: Sequence[Wanted], wanted: Mapping[int, int], left: Mapping[int, int]
) -> list[Problem]:
    """`left`: units on sale after this order's reservation, by variant."""
    problems: list[Problem] = []
    skus = {line.variant_id: line.sku for line in lines}
    for variant_id, quantity in wanted.items():
        if variant_id not in left:
            continue
        allowed = allowance(limits, left[variant_id] + quantity)
        if quantity > allowed:
            problems.append(
                Problem(
                    CheckoutCode.STOCK_SHARE_LIMIT,
                    f"{skus[variant_id]} is scarce: one order may take at most {allowed} of it now"
                    f" ({limits.stock_share}% of the stock on sale); this one asks for {quantity}.",
                    FIELD,
                )
            )
    return problems
