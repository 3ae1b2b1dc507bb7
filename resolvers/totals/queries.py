"""Staff only: the shipping zones and methods, tax rates and discount codes (at most 500 each)."""

from __future__ import annotations

import strawberry

from domain import totals_admin
from graph.auth import require_staff
from graph.context import Info
from graph.totals.types import DiscountCode, ShippingMethodDetails, ShippingZone, TaxRate

LIMIT = 500


@strawberry.type
class TotalsQuery:
    @strawberry.field(description="Staff only.")
    async def shipping_zones(self, info: Info) -> list[ShippingZone]:
        await require_staff(info)
        async with info.context.read_engine.connect() as conn:
            return [ShippingZone.of(row) for row in await totals_admin.listing(conn, "zone", LIMIT)]

    @strawberry.field(description="Staff only: every shipping method with its pricing rules.")
    async def shipping_method_list(self, info: Info) -> list[ShippingMethodDetails]:
        await require_staff(info)
        async with info.context.read_engine.connect() as conn:
            return [
                ShippingMethodDetails.of(row) for row in await totals_admin.listing(conn, "method", LIMIT)
            ]

    @strawberry.field(description="Staff only.")
    async def tax_rates(self, info: Info) -> list[TaxRate]:
        await require_staff(info)
        async with info.context.read_engine.connect() as conn:
            return [TaxRate.of(row) for row in await totals_admin.listing(conn, "rate", LIMIT)]

    @strawberry.field(description="Staff only.")
    async def discount_codes(self, info: Info) -> list[DiscountCode]:
        await require_staff(info)
        async with info.context.read_engine.connect() as conn:
            return [DiscountCode.of(row) for row in await totals_admin.listing(conn, "code", LIMIT)]
