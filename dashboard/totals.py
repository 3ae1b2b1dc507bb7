"""Shipping zones and methods, tax rates and discount codes in the dashboard: list, search, create,
edit, delete. Every read and write is domain.totals_admin's (the staff GraphQL API's own functions);
its problems are shown on the form's fields."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from starlette.requests import Request
from starlette_admin import fields
from starlette_admin.exceptions import FormValidationError
from starlette_admin.filters import FilterGroup

from dashboard.console import failed, staff_of
from dashboard.listing import ConsoleView, pk_numbers
from domain import totals_admin
from domain.errors import Problem

LIST_FIELDS = ("countries", "regions", "postcode_prefixes")
ID_FIELDS = ("category_ids", "product_ids")


def words(value: Any) -> list[str]:
    """A list typed as text: entries separated by commas, spaces or lines."""
    return [word for word in re.split(r"[\s,]+", str(value or "")) if word]


def _ids(value: Any, field: str) -> list[int]:
    found = words(value)
    if any(not (word.isascii() and word.isdigit() and len(word) < 19) for word in found):
        raise FormValidationError({field: "Numeric ids separated by commas."})
    return [int(word) for word in found]


def _required(data: dict[str, Any], *names: str) -> None:
    missing = {name: "Required." for name in names if data.get(name) in (None, "")}
    if missing:
        raise FormValidationError(missing)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def _text(value: Any) -> str:
    return str(value or "").strip()


class TotalsView(ConsoleView):
    """Rows of one totals_admin kind; the subclasses turn form data into its values."""

    kind = ""
    search_attrs: tuple[str, ...] = ("name",)
    main_field = "name"  # where a problem without a form field of its own is shown

    def values(self, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def _rows(self, q: str | None) -> list[Any]:
        async with self.console.engine.connect() as conn:
            rows = await totals_admin.listing(conn, self.kind, totals_admin.MAX_ROWS)
        needle = (q or "").strip().casefold()
        if needle:
            rows = [
                row
                for row in rows
                if any(needle in str(getattr(row, attr)).casefold() for attr in self.search_attrs)
            ]
        return rows

    async def rows(self, q: str | None, filters: FilterGroup | None, skip: int, limit: int) -> Sequence[Any]:
        rows = await self._rows(q)
        return [_item(row) for row in rows[skip : skip + limit if limit > 0 else None]]

    async def total(self, q: str | None, filters: FilterGroup | None) -> int:
        return len(await self._rows(q))

    async def find_by_pks(self, request: Request, pks: list[Any]) -> Sequence[Any]:
        async with self.console.engine.connect() as conn:
            rows = [await totals_admin.get(conn, self.kind, row_id) for row_id in pk_numbers(pks)[:100]]
        return [_item(row) for row in rows if row is not None]

    async def create(self, request: Request, data: dict[str, Any]) -> Any:
        return await self._save(request, None, data)

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        return await self._save(request, int(pk), data)

    async def _save(self, request: Request, pk: int | None, data: dict[str, Any]) -> Any:
        staff_of(request)
        values = self.values(data)
        async with self.console.engine.begin() as conn:
            row, problems = await totals_admin.save(conn, self.kind, pk, values, creating=pk is None)
        if problems:
            raise FormValidationError(self._errors(problems))
        return _item(row)

    def _errors(self, problems: list[Problem]) -> dict[str | int, Any]:
        names = {field.name for field in self.fields}
        errors: dict[str | int, Any] = {}
        for problem in problems:
            field = problem.field[-1] if problem.field else self.main_field
            errors.setdefault(
                field if field in names else self.main_field, f"{problem.message} ({problem.code})"
            )
        return errors

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        staff_of(request)
        for pk in pks:
            async with self.console.engine.begin() as conn:
                problems = await totals_admin.delete(conn, self.kind, int(pk) if str(pk).isdigit() else None)
            if problems:
                raise failed(problems)
        return len(pks)


def _item(row: Any) -> SimpleNamespace:
    """A row as the form shows it: lists as comma-separated text, bands as JSON."""
    item = {name: getattr(row, name) for name in row.__dataclass_fields__}
    for name in (*LIST_FIELDS, *ID_FIELDS):
        if name in item:
            item[name] = ", ".join(map(str, item[name]))
    if "bands" in item:
        item["bands"] = json.dumps(item["bands"])
    return SimpleNamespace(**item)


def _id_field() -> fields.IntegerField:
    return fields.IntegerField("id", label="Id", exclude_from_create=True, exclude_from_edit=True)


class ShippingZoneView(TotalsView):
    kind = "zone"
    key = "shipping-zones"
    display_name = "Shipping zone"
    menu_label = "Shipping zones"
    icon = "fa fa-globe"
    fields = [
        _id_field(),
        fields.StringField("name", required=True, maxlength=200),
        fields.StringField("countries", required=True, help_text="ISO codes separated by commas: DE, AT."),
        fields.StringField("regions", help_text="Optional: region codes such as NY, CA."),
        fields.StringField("postcode_prefixes", label="Postcode prefixes", help_text="Optional."),
    ]
    searchable_fields = ["name", "countries"]
    search_attrs = ("name", "countries")

    def values(self, data: dict[str, Any]) -> dict[str, Any]:
        _required(data, "name", "countries")
        return {"name": _text(data.get("name"))} | {name: words(data.get(name)) for name in LIST_FIELDS}


class ShippingMethodView(TotalsView):
    kind = "method"
    key = "shipping-methods"
    display_name = "Shipping method"
    menu_label = "Shipping methods"
    icon = "fa fa-truck"
    fields = [
        _id_field(),
        fields.IntegerField("zone_id", label="Zone (id)", required=True),
        fields.StringField("name", required=True, maxlength=200),
        fields.EnumField("kind", choices=list(totals_admin.METHOD_KINDS), required=True),
        fields.IntegerField("price", help_text="In minor units: 499 is 4.99 (flat methods)."),
        fields.TextAreaField(
            "bands",
            help_text='Subtotal/weight methods: [{"from": 5000, "price": 499}]',
            exclude_from_list=True,
        ),
        fields.IntegerField("free_above", label="Free above", help_text="Optional, in minor units."),
        fields.StringField("delivery_estimate", label="Delivery estimate", maxlength=200),
        fields.BooleanField("is_active", label="Active"),
        fields.IntegerField("position"),
    ]
    searchable_fields = ["name"]

    def values(self, data: dict[str, Any]) -> dict[str, Any]:
        _required(data, "zone_id", "name", "kind")
        try:
            bands = json.loads(_text(data.get("bands")) or "[]")
        except ValueError:
            raise FormValidationError({"bands": 'JSON such as [{"from": 5000, "price": 499}].'}) from None
        return {
            "zone_id": data["zone_id"],
            "name": _text(data.get("name")),
            "kind": data["kind"],
            "price": data.get("price") or 0,
            "bands": bands,
            "free_above": data.get("free_above"),
            "delivery_estimate": _text(data.get("delivery_estimate")) or None,
            "is_active": bool(data.get("is_active")),
            "position": data.get("position") or 0,
        }


class TaxRateView(TotalsView):
    kind = "rate"
    key = "tax-rates"
    display_name = "Tax rate"
    menu_label = "Tax rates"
    icon = "fa fa-percent"
    fields = [
        _id_field(),
        fields.StringField("name", required=True, maxlength=200),
        fields.StringField("country", required=True, maxlength=2, help_text="ISO code, such as DE."),
        fields.StringField(
            "region", maxlength=32, help_text="Empty: the whole country; or a code such as NY."
        ),
        fields.EnumField(
            "tax_class", label="Tax class", choices=list(totals_admin.TAX_CLASSES), required=True
        ),
        fields.IntegerField("basis_points", label="Basis points", required=True, help_text="1900 is 19 %."),
    ]
    searchable_fields = ["name", "country"]
    search_attrs = ("name", "country", "region")

    def values(self, data: dict[str, Any]) -> dict[str, Any]:
        _required(data, "name", "country", "tax_class", "basis_points")
        return {
            "name": _text(data.get("name")),
            "country": _text(data.get("country")),
            "region": _text(data.get("region")),
            "tax_class": data["tax_class"],
            "basis_points": data["basis_points"],
        }


class DiscountCodeView(TotalsView):
    kind = "code"
    key = "discount-codes"
    display_name = "Discount code"
    menu_label = "Discount codes"
    icon = "fa fa-ticket"
    main_field = "code"
    fields = [
        _id_field(),
        fields.StringField("code", required=True, maxlength=64),
        fields.EnumField("kind", choices=list(totals_admin.DISCOUNT_KINDS), required=True),
        fields.IntegerField(
            "value", help_text="Percentage: basis points (1000 is 10 %); fixed: minor units."
        ),
        fields.StringField(
            "category_ids", label="Category ids", help_text="Empty: the whole order.", exclude_from_list=True
        ),
        fields.StringField(
            "product_ids", label="Product ids", help_text="Empty: the whole order.", exclude_from_list=True
        ),
        fields.IntegerField("min_subtotal", label="Minimum subtotal", help_text="In minor units."),
        fields.DateTimeField("starts_at", label="Starts (UTC)"),
        fields.DateTimeField("ends_at", label="Ends (UTC)"),
        fields.IntegerField("usage_limit", label="Usage limit"),
        fields.IntegerField("usage_limit_per_customer", label="Uses per customer"),
        fields.IntegerField("used", exclude_from_create=True, exclude_from_edit=True),
        fields.BooleanField("is_active", label="Active"),
    ]
    searchable_fields = ["code"]
    search_attrs = ("code",)

    def values(self, data: dict[str, Any]) -> dict[str, Any]:
        _required(data, "code", "kind")
        return {
            "code": _text(data.get("code")),
            "kind": data["kind"],
            "value": data.get("value") or 0,
            "category_ids": _ids(data.get("category_ids"), "category_ids"),
            "product_ids": _ids(data.get("product_ids"), "product_ids"),
            "min_subtotal": data.get("min_subtotal") or 0,
            "starts_at": _moment(data.get("starts_at")),
            "ends_at": _moment(data.get("ends_at")),
            "usage_limit": data.get("usage_limit"),
            "usage_limit_per_customer": data.get("usage_limit_per_customer"),
            "is_active": bool(data.get("is_active")),
        }
