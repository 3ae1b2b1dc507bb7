"""Staff only: shipping zones and methods, tax rates and discount codes (Saleor's naming:
shippingZoneCreate, shippingMethodCreate, taxRateCreate, discountCodeCreate, ...Update, ...Delete)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain import totals_admin
from graph.auth import require_staff
from graph.common.types import user_errors
from graph.context import Info
from graph.ids import pk_of
from graph.totals.types import (
    DeletePayload,
    DiscountCode,
    DiscountCodePayload,
    ShippingMethodDetails,
    ShippingMethodPayload,
    ShippingZone,
    ShippingZonePayload,
    TaxRate,
    TaxRatePayload,
)

UNSET: Any = strawberry.UNSET


@strawberry.input
class ShippingZoneInput:
    name: str | None = UNSET
    countries: list[str] | None = UNSET
    regions: list[str] | None = UNSET
    postcode_prefixes: list[str] | None = UNSET


@strawberry.input
class ShippingMethodInput:
    zone_id: strawberry.ID | None = UNSET
    name: str | None = UNSET
    kind: str | None = strawberry.field(default=UNSET, description="flat, subtotal or weight.")
    price: int | None = UNSET
    bands: JSON | None = strawberry.field(default=UNSET, description='[{"from": 5000, "price": 499}]')
    free_above: int | None = UNSET
    delivery_estimate: str | None = UNSET
    is_active: bool | None = UNSET
    position: int | None = UNSET


@strawberry.input
class TaxRateInput:
    country: str | None = UNSET
    region: str | None = strawberry.field(default=UNSET, description='A US state\'s code, or "".')
    tax_class: str | None = strawberry.field(default=UNSET, description="standard, reduced or zero.")
    basis_points: int | None = strawberry.field(default=UNSET, description="1900 is 19 %.")
    name: str | None = UNSET


@strawberry.input
class DiscountCodeInput:
    code: str | None = UNSET
    kind: str | None = strawberry.field(default=UNSET, description="percentage, fixed or free_shipping.")
    value: int | None = strawberry.field(default=UNSET, description="Basis points, or minor units.")
    category_ids: list[strawberry.ID] | None = UNSET
    product_ids: list[strawberry.ID] | None = UNSET
    min_subtotal: int | None = UNSET
    starts_at: datetime | None = UNSET
    ends_at: datetime | None = UNSET
    usage_limit: int | None = UNSET
    usage_limit_per_customer: int | None = UNSET
    is_active: bool | None = UNSET


REQUIRED = {
    "zone": ("name", "countries"),
    "method": ("zone_id", "name"),
    "rate": ("country", "tax_class", "basis_points", "name"),
    "code": ("code", "kind"),
}
NOT_NULL = {
    *("name", "countries", "regions", "postcode_prefixes", "zone_id", "kind", "price", "bands", "is_active"),
    *("position", "country", "region", "tax_class", "basis_points", "code", "value", "category_ids"),
    *("product_ids", "min_subtotal"),
}


@dataclass(slots=True, frozen=True)
class _Kind:
    """What a kind of totals object is called in the schema and how its payload answers."""

    type_name: str
    payload: Callable[..., Any]
    field: str
    view: Callable[[Any], Any]


KINDS = {
    "zone": _Kind("ShippingZone", ShippingZonePayload, "shipping_zone", ShippingZone.of),
    "method": _Kind("ShippingMethod", ShippingMethodPayload, "shipping_method", ShippingMethodDetails.of),
    "rate": _Kind("TaxRate", TaxRatePayload, "tax_rate", TaxRate.of),
    "code": _Kind("DiscountCode", DiscountCodePayload, "discount_code", DiscountCode.of),
}


def _values(kind: str, data: Any) -> tuple[dict[str, Any], list[str]]:
    """The fields given (UNSET ones left out), ids decoded; and the fields given as null that may not be."""
    values = {k: v for k, v in vars(data).items() if v is not UNSET}
    if "zone_id" in values and values["zone_id"] is not None:
        values["zone_id"] = pk_of(values["zone_id"], "ShippingZone") or 0
    for key, type_name in (("category_ids", "Category"), ("product_ids", "Product")):
        if values.get(key) is not None:
            values[key] = [pk_of(v, type_name) for v in values[key]]
    nulls = [k for k, v in values.items() if v is None and k in NOT_NULL]
    return values, nulls


async def _save(info: Info, kind: str, row_id: strawberry.ID | None, data: Any) -> Any:
    """Creates (no id) or updates one object of `kind`; its payload, with userErrors."""
    await require_staff(info)
    spec = KINDS[kind]
    values, nulls = _values(kind, data)
    creating = row_id is None
    missing = [k for k in REQUIRED[kind] if creating and values.get(k) is None]
    if nulls or missing:
        problem = totals_admin.Problem(
            totals_admin.Code.INVALID, "Required.", ("input", (nulls or missing)[0])
        )
        return spec.payload(**{spec.field: None, "user_errors": user_errors([problem])})
    pk = pk_of(row_id, spec.type_name) if row_id is not None else None
    async with info.context.engine.begin() as conn:
        row, problems = await totals_admin.save(conn, kind, pk, values, creating=creating)
    return spec.payload(**{spec.field: spec.view(row) if row else None, "user_errors": user_errors(problems)})


async def _delete(info: Info, kind: str, row_id: strawberry.ID) -> DeletePayload:
    await require_staff(info)
    async with info.context.engine.begin() as conn:
        problems = await totals_admin.delete(conn, kind, pk_of(row_id, KINDS[kind].type_name))
    return DeletePayload(deleted_id=None if problems else row_id, user_errors=user_errors(problems))


@strawberry.type
class TotalsMutation:
    @strawberry.mutation(description="Staff only.")
    async def shipping_zone_create(self, info: Info, input: ShippingZoneInput) -> ShippingZonePayload:
        return await _save(info, "zone", None, input)

    @strawberry.mutation(description="Staff only.")
    async def shipping_zone_update(
        self, info: Info, id: strawberry.ID, input: ShippingZoneInput
    ) -> ShippingZonePayload:
        return await _save(info, "zone", id, input)

    @strawberry.mutation(
        description="Staff only: deletes the zone and its methods (placed orders keep theirs)."
    )
    async def shipping_zone_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _delete(info, "zone", id)

    @strawberry.mutation(description="Staff only.")
    async def shipping_method_create(self, info: Info, input: ShippingMethodInput) -> ShippingMethodPayload:
        return await _save(info, "method", None, input)

    @strawberry.mutation(description="Staff only.")
    async def shipping_method_update(
        self, info: Info, id: strawberry.ID, input: ShippingMethodInput
    ) -> ShippingMethodPayload:
        return await _save(info, "method", id, input)

    @strawberry.mutation(description="Staff only.")
    async def shipping_method_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _delete(info, "method", id)

    @strawberry.mutation(description="Staff only.")
    async def tax_rate_create(self, info: Info, input: TaxRateInput) -> TaxRatePayload:
        return await _save(info, "rate", None, input)

    @strawberry.mutation(description="Staff only: placed orders keep the rate they were charged.")
    async def tax_rate_update(self, info: Info, id: strawberry.ID, input: TaxRateInput) -> TaxRatePayload:
        return await _save(info, "rate", id, input)

    @strawberry.mutation(description="Staff only.")
    async def tax_rate_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _delete(info, "rate", id)

    @strawberry.mutation(description="Staff only.")
    async def discount_code_create(self, info: Info, input: DiscountCodeInput) -> DiscountCodePayload:
        return await _save(info, "code", None, input)

    @strawberry.mutation(description="Staff only.")
    async def discount_code_update(
        self, info: Info, id: strawberry.ID, input: DiscountCodeInput
    ) -> DiscountCodePayload:
        return await _save(info, "code", id, input)

    @strawberry.mutation(description="Staff only.")
    async def discount_code_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _delete(info, "code", id)
