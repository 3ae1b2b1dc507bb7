"""Totals at checkout and on the cart: the quote (domain.quotes) for the lines checkout charges, the
order's snapshot of it, the discount code's use, and what the payment session must charge."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import discounts, price_lock
from domain.addresses import normalise_address
from domain.errors import CheckoutCode, Problem
from domain.errors import DiscountCode as Code
from domain.quotes import Quote, QuoteLine, TotalsSettings, quote
from domain.vat import REVERSE_CHARGE_REASON
from models import checkout_repository as checkout_carts
from models import totals_repository as repo
from models.order_repository import NewOrderLine, OrderRow, OrderTotals
from models.totals_repository import CodeRow, LineFacts, References

if TYPE_CHECKING:
    from domain.checkout import CheckoutInput


@dataclass(slots=True)
class PricedOrder:
    lines: list[NewOrderLine]
    snapshot: OrderTotals
    code: CodeRow | None = None
    problems: list[Problem] = field(default_factory=list)


def billing_problems(billing: dict[str, str | None] | None) -> list[Problem]:
    if billing is None:
        return []
    _, problems = normalise_address(billing)
    return [
        Problem(CheckoutCode.INVALID_BILLING_ADDRESS, f"{p.field} {p.message}.", ("billing_address", p.field))
        for p in problems
    ]


def _tax_lines(q: Quote) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"name": line.name, "basis_points": line.basis_points, "amount": line.amount}
        for line in q.totals.tax_lines
    )


async def price_order(
    conn: AsyncConnection,
    settings: TotalsSettings,
    data: CheckoutInput,
    address: dict[str, str | None],
    email: str,
    cart_id: int,
    lines: list[NewOrderLine],
    facts: dict[int, LineFacts] | None = None,
    references: References | None = None,
) -> PricedOrder:
    """The quote for the order's lines, as the snapshot the order stores (`facts`: the lines'
    variants' facts, `references`: the cart's code and the address's methods and rates, when the
    caller read them with the lines)."""
    billing = normalise_address(data.billing_address)[0] if data.billing_address else address
    code = references.code if references is not None else await repo.code_of_cart(conn, cart_id)
    q = await quote(
        conn,
        settings,
        [QuoteLine(line.variant_id, line.quantity, line.quantity * line.unit_price) for line in lines],
        address,
        method_id=data.shipping_method_id,
        vat_number=data.vat_number,
        billing_country=billing.get("country"),
        code=code,
        now=datetime.now(UTC),
        facts=facts,
        references=references,
    )
    problems = [*q.problems, *(_checkout_field(p) for p in q.code_problems)]
    if problems:
        return PricedOrder(lines=lines, snapshot=OrderTotals(), problems=problems)
    priced = [
        replace(
            line,
            discount=q.totals.line_discounts[index],
            tax=q.totals.line_taxes[index],
            tax_basis_points=rate.basis_points if (rate := q.line_rates[index]) else None,
        )
        for index, line in enumerate(lines)
    ]
    snapshot = OrderTotals(
        discount=q.totals.discount,
        shipping=q.totals.shipping,
        tax=q.totals.tax,
        prices_include_tax=q.totals.prices_include_tax,
        tax_lines=_tax_lines(q),
        shipping_method_id=q.method.method.id if q.method else None,
        shipping_method_name=q.method.method.name if q.method else None,
        discount_codes=(q.code.code,) if q.code else (),
        vat_number=q.vat.number if q.vat else None,
        reverse_charge=q.reverse_charge,
        reverse_charge_reason=REVERSE_CHARGE_REASON if q.reverse_charge else None,
        billing_address=billing,
    )
    return PricedOrder(lines=priced, snapshot=snapshot, code=q.code)


def _checkout_field(problem: Problem) -> Problem:
    return Problem(problem.code, f"The cart's discount code: {problem.message}", ("cart_token",))


async def consume_code(
    conn: AsyncConnection, priced: PricedOrder, order_id: int, email: str
) -> list[Problem]:
    """Count the order's use of its code in the order's transaction: the conditional UPDATE holds
    the code's row lock until commit, so racing checkouts never use it more than its limit."""
    code = priced.code
    if code is None:
        return []
    if not await repo.consume_code(conn, code.id):
        return [
            Problem(Code.DISCOUNT_CODE_USED_UP, "The cart's discount code has been used up.", ("cart_token",))
        ]
    limit = code.usage_limit_per_customer
    if limit is not None and await repo.live_uses_by(conn, code.id, email) >= limit:
        return [
            Problem(
                Code.DISCOUNT_CODE_LIMIT_PER_CUSTOMER,
                "This e-mail address has used the cart's discount code as often as it may.",
                ("cart_token",),
            )
        ]
    await repo.record_use(conn, code.id, order_id, email)
    return []


def payment_extras(order: OrderRow) -> dict[str, Any]:
    """What the payment session charges besides the lines (domain.payments.CheckoutRequest)."""
    return {
        "discount": order.discount,
        "shipping": order.shipping,
        "shipping_name": order.shipping_method_name,
        "tax": 0 if order.prices_include_tax else order.tax,
        "tax_name": ", ".join(line["name"] for line in order.tax_lines) or "Tax",
        "total": order.total,
    }


# ---------------------------------------------------------------- the cart


async def cart_lines(conn: AsyncConnection, cart_id: int, lock_ttl: timedelta) -> list[QuoteLine]:
    """The lines checkout would charge for the cart now (one per price its units cost)."""
    rows = await checkout_carts.priced_cart_lines(conn, cart_id, lock_ttl)
    return [
        QuoteLine(row.variant_id, units, units * price)
        for row in rows
        for units, price in price_lock.charged_parts(
            row.quantity,
            row.current_price,
            price_lock.Lock(row.locked_price, row.locked_quantity, holds=row.price_locked),
        )
    ]


async def cart_quote(
    conn: AsyncConnection,
    settings: TotalsSettings,
    cart_id: int,
    lock_ttl: timedelta,
    address: dict[str, str | None],
    *,
    method_id: int | None,
    vat_number: str | None,
) -> Quote:
    lines = await cart_lines(conn, cart_id, lock_ttl)
    code = await repo.code_of_cart(conn, cart_id)
    normalised, problems = normalise_address(address)
    for problem in problems:  # an estimate ignores what checkout would refuse (a NUL, a bad country)
        normalised[problem.field] = None
    return await quote(
        conn,
        settings,
        lines,
        normalised,
        method_id=method_id,
        vat_number=vat_number,
        billing_country=normalised.get("country"),
        code=code,
        now=datetime.now(UTC),
    )


async def cart_codes(conn: AsyncConnection, cart_id: int) -> list[str]:
    code = await repo.code_of_cart(conn, cart_id)
    return [code.code] if code else []


async def apply_code(conn: AsyncConnection, cart_id: int, raw: str, lock_ttl: timedelta) -> list[Problem]:
    """Put a code on the (locked) cart, replacing any other; its problems if it does not apply."""
    text = discounts.normalise(raw)
    code = await repo.code_by_text(conn, text) if text else None
    lines = await cart_lines(conn, cart_id, lock_ttl)
    facts = await repo.line_facts(conn, sorted({line.variant_id for line in lines}))
    coded = [
        discounts.CodedLine(
            line.amount, facts[line.variant_id].product_id, facts[line.variant_id].category_id
        )
        for line in lines
        if line.variant_id in facts
    ]
    if problems := discounts.problems(code, coded, datetime.now(UTC)):
        return problems
    assert code is not None
    await repo.set_cart_code(conn, cart_id, code.id)
    return []


async def remove_code(conn: AsyncConnection, cart_id: int, raw: str) -> list[Problem]:
    text = discounts.normalise(raw)
    code = await repo.code_by_text(conn, text) if text else None
    if code is None or not await repo.remove_cart_code(conn, cart_id, code.id):
        return [Problem(Code.DISCOUNT_CODE_NOT_FOUND, "This code is not on the cart.", ("code",))]
    return []
