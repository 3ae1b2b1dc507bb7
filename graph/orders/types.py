"""Order types. Lines and history come through per-request DataLoaders."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import orders as order_domain
from domain.order_reads import OrderLineRow, OrderRow, StatusChangeRow
from graph.common.types import Address, Money, Node, PageInfo, UserError, address_of
from graph.common.types import AddressInput as AddressInput  # where checkoutCreate finds it
from graph.context import Info
from graph.ids import to_global_id
from graph.totals.types import OrderShipping, TaxLine

OrderStatus = strawberry.enum(order_domain.OrderStatus, name="OrderStatus")


@strawberry.type
class OrderLine:
    id: strawberry.ID
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: Money
    line_total: Money

    @classmethod
    def from_row(cls, row: OrderLineRow, currency: str) -> OrderLine:
        return cls(
            id=strawberry.ID(to_global_id("OrderLine", row.id)),
            sku=row.sku,
            product_name=row.product_name,
            variant_name=row.variant_name,
            quantity=row.quantity,
            unit_price=Money(amount=row.unit_price, currency=currency),
            line_total=Money(amount=row.line_total, currency=currency),
        )


@strawberry.type
class OrderStatusChange:
    from_: OrderStatus | None = strawberry.field(name="from")  # type: ignore[valid-type]
    to: OrderStatus  # type: ignore[valid-type]
    at: datetime
    reason: str | None

    @classmethod
    def from_row(cls, row: StatusChangeRow) -> OrderStatusChange:
        return cls(
            from_=order_domain.OrderStatus(row.from_status) if row.from_status else None,
            to=order_domain.OrderStatus(row.to_status),
            at=row.at,
            reason=row.reason,
        )


@strawberry.type
class Order(Node):
    id: strawberry.ID
    number: int = strawberry.field(description="Human-friendly order number, increasing.")
    status: OrderStatus  # type: ignore[valid-type]
    email: str
    subtotal: Money
    total: Money
    shipping_address: Address
    tracking_number: str | None
    created_at: datetime
    paid_at: datetime | None
    pk: strawberry.Private[int]
    # Totals (issue 15): the order's snapshot, as Totals (graph.totals) describes them.
    discount: Money
    shipping: Money
    tax: Money
    tax_lines: list[TaxLine]
    prices_include_tax: bool
    shipping_method: OrderShipping | None
    discount_codes: list[str]
    vat_number: str | None = strawberry.field(
        description=(
            "The buyer's VAT number when one was given; reverseCharge says whether VAT was left to the buyer."
        )
    )
    reverse_charge: bool
    reverse_charge_reason: str | None
    billing_address: Address | None

    @classmethod
    def from_row(cls, row: OrderRow) -> Order:
        address = row.shipping_address
        currency = row.currency
        return cls(
            discount=Money(amount=row.discount, currency=currency),
            shipping=Money(amount=row.shipping, currency=currency),
            tax=Money(amount=row.tax, currency=currency),
            tax_lines=[
                TaxLine.of(line["name"], int(line["basis_points"]), int(line["amount"]), currency)
                for line in row.tax_lines
            ],
            prices_include_tax=row.prices_include_tax,
            shipping_method=OrderShipping(
                method_name=row.shipping_method_name, price=Money(amount=row.shipping, currency=currency)
            )
            if row.shipping_method_name is not None
            else None,
            discount_codes=list(row.discount_codes),
            vat_number=row.vat_number,
            reverse_charge=row.reverse_charge,
            reverse_charge_reason=row.reverse_charge_reason,
            billing_address=address_of(row.billing_address) if row.billing_address else None,
            id=strawberry.ID(to_global_id("Order", row.id)),
            number=row.number,
            status=order_domain.OrderStatus(row.status),
            email=row.email,
            subtotal=Money(amount=row.subtotal, currency=row.currency),
            total=Money(amount=row.total, currency=row.currency),
            shipping_address=address_of(address),
            tracking_number=row.tracking_number,
            created_at=row.created_at,
            paid_at=row.paid_at,
            pk=row.id,
        )

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        rows = await info.context.loaders.order_lines.load(self.pk)
        return [OrderLine.from_row(row, self.total.currency) for row in rows]

    @strawberry.field
    async def status_history(self, info: Info) -> list[OrderStatusChange]:
        rows = await info.context.loaders.order_history.load(self.pk)
        return [OrderStatusChange.from_row(row) for row in rows]


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class CheckoutPayload:
    order: Order | None
    checkout_url: str | None = strawberry.field(
        description="Where to send the shopper to pay: Stripe Checkout, or the local payment sandbox."
    )
    order_token: str | None = strawberry.field(
        description="Secret that lets a guest read this order and subscribe to its status."
    )
    user_errors: list[UserError]


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]
