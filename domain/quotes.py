"""A quote: what a cart costs delivered to an address, with a method, a VAT number and a code.

Cart.estimate and checkoutCreate both ask `quote` with the lines checkout would charge, so the
estimate is exactly what checkout charges. Tax is by destination (the shipping address's
country, and state in the US), by the product's tax class; shipping is taxed at the
destination's standard rate; a valid EU VAT number of another member state than SHOP_COUNTRY
makes the sale reverse-charge (no VAT; with prices including tax, their VAT is taken out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import discounts, shipping, vat
from domain.errors import CheckoutCode, Problem
from domain.totals import Line, TaxRate, Totals, compute
from models import totals_repository as repo
from models.totals_repository import CodeRow, LineFacts, MethodRow, RateRow, References


@dataclass(slots=True, frozen=True)
class TotalsSettings:
    prices_include_tax: bool
    shop_country: str


@dataclass(slots=True, frozen=True)
class QuoteLine:
    variant_id: int
    quantity: int
    amount: int  # quantity x unit price


@dataclass(slots=True, frozen=True)
class PricedMethod:
    method: MethodRow
    price: int


@dataclass(slots=True)
class Quote:
    totals: Totals
    methods: list[PricedMethod]
    method: PricedMethod | None
    line_rates: list[TaxRate | None]
    vat: vat.VatCheck | None
    reverse_charge: bool
    code: CodeRow | None
    problems: list[Problem] = field(default_factory=list)
    code_problems: list[Problem] = field(default_factory=list)


def rate_for(rates: Sequence[RateRow], tax_class: str, region: str | None) -> TaxRate | None:
    """The rate of a tax class at a place: the region's (a US state) before the country's; a class
    the place has no rate for pays the standard rate, except `zero`, which pays none."""
    region = (region or "").upper()
    classes = (tax_class,) if tax_class in ("standard", "zero") else (tax_class, "standard")
    for wanted in classes:
        for place in (region, ""):
            for rate in rates:
                if rate.tax_class == wanted and rate.region == place:
                    return TaxRate(rate.name, rate.basis_points)
        if tax_class == "zero":
            return None
    return None


async def quote(
    conn: AsyncConnection,
    settings: TotalsSettings,
    lines: Sequence[QuoteLine],
    address: dict[str, str | None],
    *,
    method_id: int | None,
    vat_number: str | None,
    billing_country: str | None,
    code: CodeRow | None,
    now: datetime,
    facts: dict[int, LineFacts] | None = None,
    references: References | None = None,
) -> Quote:
    """`facts`: the lines' variants' facts, `references`: the address's shipping methods and tax
    rates, when the caller read them already (else read here)."""
    if facts is None:
        facts = await repo.line_facts(conn, sorted({line.variant_id for line in lines}))
    country = address.get("country") or ""
    region = address.get("state")
    problems: list[Problem] = []

    coded = [
        discounts.CodedLine(
            line.amount,
            facts[line.variant_id].product_id if line.variant_id in facts else 0,
            facts[line.variant_id].category_id if line.variant_id in facts else None,
        )
        for line in lines
    ]
    code_problems = discounts.problems(code, coded, now) if code is not None else []
    applied = code if code is not None and not code_problems else None
    discount = discounts.discount_of(applied, coded)

    subtotal = sum(line.amount for line in lines)
    weight = sum(
        facts[line.variant_id].weight_grams * line.quantity for line in lines if line.variant_id in facts
    )
    ships = any(facts[line.variant_id].is_shipping_required for line in lines if line.variant_id in facts)
    methods: list[PricedMethod] = []
    chosen: PricedMethod | None = None
    if ships:
        found = (
            references.methods
            if references is not None
            else await repo.methods_for_address(conn, country, region, address.get("postal_code"))
        )
        for method in found:
            methods.append(
                PricedMethod(method, shipping.method_price(method, subtotal=subtotal, weight_grams=weight))
            )
        if method_id is not None:
            chosen = next((m for m in methods if m.method.id == method_id), None)
            if chosen is None:
                problems.append(
                    Problem(
                        CheckoutCode.SHIPPING_METHOD_NOT_AVAILABLE,
                        "This shipping method does not deliver to the address.",
                        ("shipping_method_id",),
                    )
                )
        elif methods:
            chosen = min(methods, key=lambda m: (m.price, m.method.position, m.method.id))
        else:
            problems.append(
                Problem(
                    CheckoutCode.NO_SHIPPING_METHOD,
                    "No shipping method delivers to this address.",
                    ("shipping_address",),
                )
            )
    shipping_price = 0 if chosen is None or discount.free_shipping else chosen.price

    checked = vat.check(vat_number) if vat_number else None
    if checked is not None and not checked.valid:
        problems.append(
            Problem(
                CheckoutCode.INVALID_VAT_NUMBER,
                "This VAT number is not valid (format and check digits of an EU VAT number).",
                ("vat_number",),
            )
        )
    reverse = vat.reverse_charge(settings.shop_country, billing_country or country, checked)

    if not country:
        rates = []
    elif references is not None:
        rates = references.rates
    else:
        rates = await repo.rates_for(conn, country, region)
    line_rates = [
        rate_for(rates, facts[line.variant_id].tax_class if line.variant_id in facts else "standard", region)
        for line in lines
    ]
    shipping_rate = rate_for(rates, "standard", region)
    amounts = [line.amount for line in lines]
    if reverse:  # with prices including tax the shown price stands, with no VAT in it (README)
        line_rates = [None for _ in lines]
        shipping_rate = None
    totals = compute(
        [
            Line(amount, rate, covered)
            for amount, rate, covered in zip(amounts, line_rates, discount.discountable, strict=True)
        ],
        discount=discount.amount,
        shipping=shipping_price,
        shipping_tax=shipping_rate,
        prices_include_tax=settings.prices_include_tax,
    )
    return Quote(
        totals=totals,
        methods=methods,
        method=chosen,
        line_rates=line_rates,
        vat=checked,
        reverse_charge=reverse,
        code=applied,
        problems=problems,
        code_problems=code_problems,
    )
