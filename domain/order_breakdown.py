"""An order's totals as a person reads them (the staff dashboard's order page): subtotal, discount
with its code, shipping with its method, the tax lines with their rates, the reverse charge and its
reason, and the total, all from the order row's snapshot (domain.order_totals wrote it at checkout,
domain.totals computed it), never recomputed.

The parts that count add up to the total: total = subtotal - discount + shipping (+ tax when prices
exclude it), the orders table's CHECK constraint. With prices including tax the tax lines are shown
as included and do not count again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.addresses import address_lines
from models.order_repository import OrderRow

__all__ = ["OrderBreakdown", "Part", "breakdown_of", "rate_text"]


@dataclass(slots=True, frozen=True)
class Part:
    label: str
    amount: int  # minor units, signed: a discount is negative
    counts: bool = True  # False for tax included in the prices (already in the other parts)
    note: str | None = None


@dataclass(slots=True, frozen=True)
class OrderBreakdown:
    currency: str
    parts: tuple[Part, ...]
    total: int
    billing_address: tuple[str, ...]  # the address as lines; empty when none was given
    vat_number: str | None

    @property
    def adds_up(self) -> bool:
        return sum(part.amount for part in self.parts if part.counts) == self.total


def rate_text(basis_points: int) -> str:
    """2000 is "20%", 1950 is "19.5%", 725 is "7.25%"."""
    return f"{format(Decimal(basis_points) / 100, 'f')}%"


def breakdown_of(order: OrderRow) -> OrderBreakdown:
    parts = [Part("Subtotal", order.subtotal)]
    if order.discount or order.discount_codes:
        codes = ", ".join(order.discount_codes)
        parts.append(Part(f"Discount ({codes})" if codes else "Discount", -order.discount))
    method = order.shipping_method_name
    parts.append(Part(f"Shipping ({method})" if method else "Shipping", order.shipping))
    included = order.prices_include_tax
    for line in order.tax_lines:
        name, rate = str(line["name"]), rate_text(int(line["basis_points"]))
        parts.append(
            Part(
                name if rate in name else f"{name} ({rate})",
                int(line["amount"]),
                counts=not included,
                note="included in the prices" if included else None,
            )
        )
    if order.reverse_charge:
        parts.append(Part("VAT reverse charge", 0, counts=False, note=order.reverse_charge_reason))
    elif not order.tax_lines and order.tax:  # an older snapshot without its lines
        parts.append(Part("Tax", order.tax, counts=not included))
    billing = order.billing_address
    return OrderBreakdown(
        currency=order.currency,
        parts=tuple(parts),
        total=order.total,
        billing_address=tuple(address_lines(billing)) if billing else (),
        vat_number=order.vat_number,
    )
