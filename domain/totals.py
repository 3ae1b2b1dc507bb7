"""The one money calculation: subtotal, discount, shipping, tax and total of a cart or an order.

Pure functions on integers in minor units (cents); no database, no floats. Cart estimates,
checkout, the order snapshot, the Stripe Checkout Session and the webhook's amount check all
use what `compute` answers.

The rounding rule (README, "Shipping, tax and discounts"):
1. A discount is split across the lines in proportion to their amounts by the largest-remainder
   method (floors first, then the left-over cents to the largest fractional parts, ties to the
   earlier line): the parts add up to the discount exactly. Its own cap is the subtotal, so no
   line goes below zero.
2. Tax is computed per taxable amount (each line after its discount part, then shipping) and
   rounded half to even to the cent; the tax is the sum of those rounded amounts, grouped into
   tax lines by (name, rate).
3. Prices exclude tax (PRICES_INCLUDE_TAX off): tax = amount x rate;
   total = subtotal - discount + shipping + tax.
   Prices include tax: tax = amount - amount / (1 + rate), the part of the amount that is tax;
   total = subtotal - discount + shipping (tax is inside it).
Rates are exact decimals (basis points of a percent: 1900 is 19 %, 725 is 7.25 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

RATE_SCALE = 10_000  # a rate of 1900 is 19 %


@dataclass(slots=True, frozen=True)
class TaxRate:
    name: str  # "VAT DE 19%", "Sales tax NY"
    basis_points: int  # 1900 = 19 %

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.basis_points, RATE_SCALE)


@dataclass(slots=True, frozen=True)
class Line:
    amount: int  # quantity x unit price, in minor units
    tax: TaxRate | None  # None: no tax on this line
    discountable: bool = True  # False when a code limited to categories/products does not cover it


@dataclass(slots=True, frozen=True)
class TaxLine:
    name: str
    basis_points: int
    amount: int


@dataclass(slots=True, frozen=True)
class Totals:
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    tax_lines: tuple[TaxLine, ...]
    prices_include_tax: bool
    line_discounts: tuple[int, ...]  # each line's part of the discount, in line order
    line_taxes: tuple[int, ...]  # each line's tax, in line order (the shipping's is the rest)


def round_half_even(value: Fraction) -> int:
    """The integer nearest to `value`, ties to the even one (Python's round() on a Fraction)."""
    return round(value)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights` (all >= 0), by largest remainder: the parts add
    up to `amount` exactly and no part exceeds its weight when amount <= sum(weights)."""
    total = sum(weights)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    exact = [Fraction(amount * weight, total) for weight in weights]
    parts = [int(share) for share in exact]  # floors (shares are >= 0)
    left = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in by_remainder[:left]:
        parts[index] += 1
    return parts


def tax_of(amount: int, rate: TaxRate, *, included: bool) -> int:
    """Tax of one taxable amount, rounded half to even."""
    if amount <= 0 or rate.basis_points <= 0:
        return 0
    if included:
        return round_half_even(amount * rate.fraction / (1 + rate.fraction))
    return round_half_even(amount * rate.fraction)


def compute(
    lines: Sequence[Line],
    *,
    discount: int,
    shipping: int,
    shipping_tax: TaxRate | None,
    prices_include_tax: bool,
) -> Totals:
    """Totals of lines with a discount (already capped by its own rules) and a shipping price.

    `discount` is capped at the discountable subtotal, so total is never negative."""
    if any(line.amount < 0 for line in lines) or shipping < 0 or discount < 0:
        raise ValueError("amounts are never negative")
    subtotal = sum(line.amount for line in lines)
    weights = [line.amount if line.discountable else 0 for line in lines]
    discount = min(discount, sum(weights))
    parts = allocate(discount, weights)
    taxes: dict[tuple[str, int], int] = {}
    taxed: list[tuple[int, TaxRate | None]] = [
        (line.amount - part, line.tax) for line, part in zip(lines, parts, strict=True)
    ]
    taxed.append((shipping, shipping_tax))
    each: list[int] = []
    for amount, rate in taxed:
        each.append(tax_of(amount, rate, included=prices_include_tax) if rate is not None else 0)
        if rate is not None:
            key = (rate.name, rate.basis_points)
            taxes[key] = taxes.get(key, 0) + each[-1]
    tax_lines = tuple(
        TaxLine(name=name, basis_points=points, amount=amount)
        for (name, points), amount in taxes.items()
        if amount or points
    )
    tax = sum(line.amount for line in tax_lines)
    total = subtotal - discount + shipping + (0 if prices_include_tax else tax)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=total,
        tax_lines=tax_lines,
        prices_include_tax=prices_include_tax,
        line_discounts=tuple(parts),
        line_taxes=tuple(each[:-1]),
    )


def percentage_off(amount: int, basis_points: int) -> int:
    """A percentage discount (basis points: 1000 is 10 %) of an amount, rounded half to even."""
    return min(amount, round_half_even(Fraction(amount * basis_points, RATE_SCALE)))
