"""Cart types, filled from the domain's priced cart views."""

from __future__ import annotations

import strawberry

from domain.cart_prices import CartView, PricedLine
from graph.catalog.types import ProductVariant
from graph.common.types import Money, UserError
from graph.context import Info
from graph.ids import to_global_id


async def _variant_of_line(root: strawberry.Parent[CartLine], info: Info) -> ProductVariant:
    row = await info.context.loaders.variant.load(root.variant_id)
    if row is None:
        raise LookupError(f"cart line variant {root.variant_id} is not for sale")
    return ProductVariant.from_row(row, info.context.settings.currency)


@strawberry.type
class CartLine:
    id: strawberry.ID
    variant: ProductVariant = strawberry.field(resolver=_variant_of_line)
    quantity: int
    unit_price: Money = strawberry.field(
        description="Unit price locked when the line was added; checkout charges it while the lock holds."
    )
    line_total: Money
    price_changed: bool = strawberry.field(
        description="True when the variant's current price is not the locked unitPrice."
    )
    variant_id: strawberry.Private[int]

    @classmethod
    def from_line(cls, line: PricedLine, currency: str) -> CartLine:
        return cls(
            id=strawberry.ID(to_global_id("CartLine", line.id)),
            quantity=line.quantity,
            unit_price=Money(amount=line.unit_price, currency=currency),
            line_total=Money(amount=line.line_total, currency=currency),
            price_changed=line.price_changed,
            variant_id=line.variant.id,
        )


@strawberry.type
class Cart:
    token: str = strawberry.field(
        description="Secret handle of the cart. Anonymous clients keep it and pass it back as cartToken."
    )
    lines: list[CartLine]
    total_quantity: int
    subtotal: Money

    @classmethod
    def from_view(cls, view: CartView, info: Info) -> Cart:
        """The cart of a view; its variants were read with it, so the loader need not read them again."""
        info.context.loaders.variant.prime_many({line.variant.id: line.variant for line in view.lines})
        currency = info.context.settings.currency
        return cls(
            token=view.token,
            lines=[CartLine.from_line(line, currency) for line in view.lines],
            total_quantity=view.total_quantity,
            subtotal=Money(amount=view.subtotal, currency=currency),
        )


@strawberry.input
class CartLineInput:
    variant_id: strawberry.ID
    quantity: int


@strawberry.input
class CartLineUpdateInput:
    line_id: strawberry.ID
    quantity: int = strawberry.field(description="New quantity; 0 removes the line.")


@strawberry.type
class CartPayload:
    cart: Cart | None
    user_errors: list[UserError]
