"""Cart types, filled from the domain's priced cart views."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from domain.cart_prices import CartView, PricedLine
from domain.order_totals import cart_codes, cart_quote
from domain.quotes import Quote, TotalsSettings
from graph.catalog.types import ProductVariant
from graph.common.types import AddressInput, Money, UserError, address_dict
from graph.context import Info
from graph.ids import pk_of, to_global_id
from graph.totals.types import ShippingMethod, Totals


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
    pk: strawberry.Private[int]

    @strawberry.field
    async def discount_codes(self, info: Info) -> list[str]:
        async with info.context.read_engine.connect() as conn:
            return await cart_codes(conn, self.pk)

    @strawberry.field(description="Shipping methods that deliver to this address, priced for this cart.")
    async def shipping_methods(self, info: Info, address: AddressInput) -> list[ShippingMethod]:
        quote = await _quote(info, self.pk, address, None, None)
        return [ShippingMethod.of(method, info.context.settings.currency) for method in quote.methods]

    @strawberry.field(
        description=(
            "What checkout would charge for this address, method and VAT number, computed as checkout"
            " computes it."
        )
    )
    async def estimate(
        self,
        info: Info,
        address: AddressInput,
        shipping_method_id: strawberry.ID | None = None,
        vat_number: str | None = None,
    ) -> Totals:
        # An id that names no method prices no shipping (checkoutCreate refuses it).
        method = (
            (pk_of(shipping_method_id, "ShippingMethod") or 0) if shipping_method_id is not None else None
        )
        quote = await _quote(info, self.pk, address, method, vat_number)
        return Totals.of(quote, info.context.settings.currency)

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
            pk=view.id,
        )


async def _quote(
    info: Info, cart_id: int, address: AddressInput, method_id: int | None, vat_number: str | None
) -> Quote:
    settings = info.context.settings
    async with info.context.read_engine.connect() as conn:
        return await cart_quote(
            conn,
            TotalsSettings(settings.prices_include_tax, settings.shop_country),
            cart_id,
            timedelta(seconds=settings.cart_price_lock_ttl),
            address_dict(address),
            method_id=method_id,
            vat_number=vat_number,
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
