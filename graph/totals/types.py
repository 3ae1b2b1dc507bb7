"""Totals types (shipping methods, tax lines, Totals) and the staff types of zones, methods,
tax rates and discount codes."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain.quotes import PricedMethod, Quote
from domain.totals import RATE_SCALE
from domain.totals_admin import CodeRow, MethodRow, RateRow, ZoneRow
from graph.common.types import Money, Node, UserError
from graph.ids import to_global_id


@strawberry.type
class ShippingMethod(Node):
    id: strawberry.ID
    name: str
    price: Money = strawberry.field(description="What this method costs for the cart it was listed for.")
    delivery_estimate: str | None

    @classmethod
    def of(cls, priced: PricedMethod, currency: str) -> ShippingMethod:
        return cls(
            id=strawberry.ID(to_global_id("ShippingMethod", priced.method.id)),
            name=priced.method.name,
            price=Money(amount=priced.price, currency=currency),
            delivery_estimate=priced.method.delivery_estimate,
        )


@strawberry.type
class TaxLine:
    name: str = strawberry.field(description='For example "VAT DE 19%" or "Sales tax NY".')
    rate: float = strawberry.field(description="As a fraction: 0.19 for 19 %.")
    amount: Money

    @classmethod
    def of(cls, name: str, basis_points: int, amount: int, currency: str) -> TaxLine:
        return cls(name=name, rate=basis_points / RATE_SCALE, amount=Money(amount=amount, currency=currency))


@strawberry.type(
    description=(
        "Amounts of a cart or order. When pricesIncludeTax is false: total = subtotal - discount + shipping"
        " + tax. When it is true, subtotal, discount and shipping already include their tax: total ="
        " subtotal - discount + shipping, and tax is the part of that total which is tax. In both cases"
        " tax = sum of taxLines."
    )
)
class Totals:
    subtotal: Money
    discount: Money
    shipping: Money
    tax: Money
    total: Money
    tax_lines: list[TaxLine]
    prices_include_tax: bool
    reverse_charge: bool = strawberry.field(
        description=(
            "True when the buyer's VAT number makes this a reverse-charge sale (then no VAT is charged)."
        )
    )
    vat_number_valid: bool | None = strawberry.field(
        description=(
            "Null when no VAT number was given; false when it fails validation (the estimate then ignores"
            " it, and checkoutCreate refuses it with a userError)."
        )
    )

    @classmethod
    def of(cls, quote: Quote, currency: str) -> Totals:
        totals = quote.totals

        def money(amount: int) -> Money:
            return Money(amount=amount, currency=currency)

        return cls(
            subtotal=money(totals.subtotal),
            discount=money(totals.discount),
            shipping=money(totals.shipping),
            tax=money(totals.tax),
            total=money(totals.total),
            tax_lines=[TaxLine.of(t.name, t.basis_points, t.amount, currency) for t in totals.tax_lines],
            prices_include_tax=totals.prices_include_tax,
            reverse_charge=quote.reverse_charge,
            vat_number_valid=quote.vat.valid if quote.vat else None,
        )


@strawberry.type
class OrderShipping:
    method_name: str
    price: Money


# ---------------------------------------------------------------- staff


@strawberry.type
class ShippingZone(Node):
    id: strawberry.ID
    name: str
    countries: list[str]
    regions: list[str]
    postcode_prefixes: list[str]

    @classmethod
    def of(cls, row: ZoneRow) -> ShippingZone:
        return cls(
            id=strawberry.ID(to_global_id("ShippingZone", row.id)),
            name=row.name,
            countries=row.countries,
            regions=row.regions,
            postcode_prefixes=row.postcode_prefixes,
        )


@strawberry.type
class ShippingMethodDetails:
    """A shipping method as staff edit it."""

    id: strawberry.ID
    zone_id: strawberry.ID
    name: str
    kind: str = strawberry.field(description="flat, subtotal (bands by subtotal) or weight (bands by grams).")
    price: int = strawberry.field(description="Minor units: the flat price, or below the first band.")
    bands: JSON = strawberry.field(description='[{"from": 5000, "price": 499}, ...]')
    free_above: int | None
    delivery_estimate: str | None
    is_active: bool
    position: int

    @classmethod
    def of(cls, row: MethodRow) -> ShippingMethodDetails:
        return cls(
            id=strawberry.ID(to_global_id("ShippingMethod", row.id)),
            zone_id=strawberry.ID(to_global_id("ShippingZone", row.zone_id)),
            name=row.name,
            kind=row.kind,
            price=row.price,
            bands=row.bands,
            free_above=row.free_above,
            delivery_estimate=row.delivery_estimate,
            is_active=row.is_active,
            position=row.position,
        )


@strawberry.type
class TaxRate(Node):
    id: strawberry.ID
    country: str
    region: str = strawberry.field(description='A US state\'s code, or "" for the whole country.')
    tax_class: str = strawberry.field(description="standard, reduced or zero.")
    rate: float = strawberry.field(description="As a fraction: 0.19 for 19 %.")
    name: str

    @classmethod
    def of(cls, row: RateRow) -> TaxRate:
        return cls(
            id=strawberry.ID(to_global_id("TaxRate", row.id)),
            country=row.country,
            region=row.region,
            tax_class=row.tax_class,
            rate=row.basis_points / RATE_SCALE,
            name=row.name,
        )


@strawberry.type
class DiscountCode(Node):
    id: strawberry.ID
    code: str
    kind: str = strawberry.field(description="percentage, fixed or free_shipping.")
    value: int = strawberry.field(
        description="Basis points for percentage (1000 = 10 %), minor units for fixed."
    )
    category_ids: list[strawberry.ID]
    product_ids: list[strawberry.ID]
    min_subtotal: int
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    usage_limit_per_customer: int | None
    used: int
    is_active: bool

    @classmethod
    def of(cls, row: CodeRow) -> DiscountCode:
        return cls(
            id=strawberry.ID(to_global_id("DiscountCode", row.id)),
            code=row.code,
            kind=row.kind,
            value=row.value,
            category_ids=[strawberry.ID(to_global_id("Category", pk)) for pk in row.category_ids],
            product_ids=[strawberry.ID(to_global_id("Product", pk)) for pk in row.product_ids],
            min_subtotal=row.min_subtotal,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            usage_limit=row.usage_limit,
            usage_limit_per_customer=row.usage_limit_per_customer,
            used=row.used,
            is_active=row.is_active,
        )


@strawberry.type
class ShippingZonePayload:
    shipping_zone: ShippingZone | None
    user_errors: list[UserError]


@strawberry.type
class ShippingMethodPayload:
    shipping_method: ShippingMethodDetails | None
    user_errors: list[UserError]


@strawberry.type
class TaxRatePayload:
    tax_rate: TaxRate | None
    user_errors: list[UserError]


@strawberry.type
class DiscountCodePayload:
    discount_code: DiscountCode | None
    user_errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]
