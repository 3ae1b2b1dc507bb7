"""Staff edits of shipping zones and methods, tax rates and discount codes: validation, then one
write. Placed orders keep their own snapshot (domain.order_totals), so no edit here changes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import discounts, shipping
from domain.addresses import COUNTRY_CODES
from domain.errors import Problem
from domain.errors import TotalsStaffCode as Code
from models import totals_repository as repo
from models.totals import DISCOUNT_KINDS, METHOD_KINDS, TAX_CLASSES
from models.totals_repository import CodeRow, MethodRow, RateRow, ZoneRow

__all__ = [
    "DISCOUNT_KINDS",
    "METHOD_KINDS",
    "TAX_CLASSES",
    "Code",
    "CodeRow",
    "MethodRow",
    "Problem",
    "RateRow",
    "ZoneRow",
    "delete",
    "get",
    "listing",
    "save",
]

MAX_LIST = 300  # countries, regions, postcodes, ids per list
MAX_ROWS = 500  # rows a staff listing answers
INT32 = 2**31 - 1


def _invalid(field: str, message: str) -> Problem:
    return Problem(Code.INVALID, message, ("input", field))


def _text_list(values: Any, field: str, upper: bool = True) -> list[Problem]:
    if not isinstance(values, list) or len(values) > MAX_LIST:
        return [_invalid(field, f"at most {MAX_LIST} entries")]
    if any(not isinstance(v, str) or not v.strip() or len(v) > 32 for v in values):
        return [_invalid(field, "entries are short non-empty text")]
    return []


def _amount(values: dict[str, Any], field: str, maximum: int = INT32) -> list[Problem]:
    value = values.get(field)
    if value is not None and not (isinstance(value, int) and 0 <= value <= maximum):
        return [_invalid(field, f"must be between 0 and {maximum}")]
    return []


def _printable(value: Any) -> bool:
    if isinstance(value, str):
        return value.isprintable()
    if isinstance(value, list):
        return all(_printable(item) for item in value)
    return True


def _validate(kind: str, values: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = [
        _invalid(key, "must be printable text") for key, value in values.items() if not _printable(value)
    ]
    if problems:
        return problems
    for key in ("name", "code", "delivery_estimate"):
        if (
            key in values
            and values[key] is not None
            and (not str(values[key]).strip() or len(values[key]) > 200)
        ):
            problems.append(_invalid(key, "must be 1 to 200 characters"))
    if kind == "zone":
        for key in ("countries", "regions", "postcode_prefixes"):
            if key in values:
                problems += _text_list(values[key], key)
        if "countries" in values and (
            not values["countries"] or any(c not in COUNTRY_CODES for c in values["countries"])
        ):
            problems.append(_invalid("countries", "one or more ISO 3166-1 alpha-2 codes, such as DE"))
    elif kind == "method":
        if "kind" in values and values["kind"] not in METHOD_KINDS:
            problems.append(_invalid("kind", f"one of {', '.join(METHOD_KINDS)}"))
        if "bands" in values and (
            not isinstance(values["bands"], list)
            or len(values["bands"]) > 50
            or not shipping.valid_bands(values["bands"])
        ):
            problems.append(_invalid("bands", 'a list of {"from": int, "price": int}, at most 50'))
        problems += _amount(values, "price") + _amount(values, "free_above") + _amount(values, "position")
    elif kind == "rate":
        if "country" in values and values["country"] not in COUNTRY_CODES:
            problems.append(_invalid("country", "an ISO 3166-1 alpha-2 code, such as DE"))
        if "tax_class" in values and values["tax_class"] not in TAX_CLASSES:
            problems.append(_invalid("tax_class", f"one of {', '.join(TAX_CLASSES)}"))
        if "region" in values and (not isinstance(values["region"], str) or len(values["region"]) > 32):
            problems.append(_invalid("region", "a short code such as NY, or empty"))
        problems += _amount(values, "basis_points", 10_000)
    elif kind == "code":
        if "kind" in values and values["kind"] not in DISCOUNT_KINDS:
            problems.append(_invalid("kind", f"one of {', '.join(DISCOUNT_KINDS)}"))
        if "code" in values and discounts.normalise(values["code"] or "") is None:
            problems.append(_invalid("code", f"1 to {discounts.MAX_CODE_LENGTH} printable characters"))
        for key in ("category_ids", "product_ids"):
            if key in values and (len(values[key]) > MAX_LIST or None in values[key]):
                problems.append(_invalid(key, f"at most {MAX_LIST} ids of that type"))
        for key in ("value", "min_subtotal", "usage_limit", "usage_limit_per_customer"):
            problems += _amount(values, key)
        if values.get("kind") == "percentage" and (values.get("value") or 0) > 10_000:
            problems.append(_invalid("value", "a percentage is at most 10000 basis points (100 %)"))
        starts, ends = values.get("starts_at"), values.get("ends_at")
        for key, moment in (("starts_at", starts), ("ends_at", ends)):
            if moment is not None and moment.tzinfo is None:
                problems.append(_invalid(key, "needs a time zone, such as 2026-12-24T00:00:00Z"))
        if problems:
            return problems
        if starts is not None and ends is not None and ends <= starts:
            problems.append(_invalid("ends_at", "must be after startsAt"))
    return problems


def _normalise(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("countries", "regions", "postcode_prefixes"):
        if key in out:
            out[key] = [v.strip().upper() for v in out[key]]
    if "country" in out:
        out["country"] = out["country"].strip().upper()
    if "region" in out:
        out["region"] = out["region"].strip().upper()
    if kind == "code" and "code" in out:
        out["code"] = discounts.normalise(out["code"])
    return out


async def save(
    conn: AsyncConnection, kind: str, row_id: int | None, values: dict[str, Any], *, creating: bool
) -> tuple[Any | None, list[Problem]]:
    """Create (row_id None) or update a row of `kind` (zone, method, rate, code)."""
    values = _normalise(kind, values)
    if problems := _validate(kind, values):
        return None, problems
    if not creating and row_id is None:
        return None, [Problem(Code.NOT_FOUND, "There is no such object.", ("id",))]
    zone_id = values.get("zone_id")
    if (
        kind == "method"
        and zone_id is not None
        and (zone_id <= 0 or not await repo.get_row(conn, "zone", zone_id))
    ):
        return None, [Problem(Code.NOT_FOUND, "There is no such shipping zone.", ("input", "zone_id"))]
    try:
        async with conn.begin_nested():
            if creating:
                row = await repo.create(conn, kind, values)
            else:
                assert row_id is not None
                row = await repo.update_row(conn, kind, row_id, values)
    except IntegrityError:
        return None, [
            Problem(
                Code.DUPLICATE,
                "This conflicts with an existing object (name, code, or place and class) or breaks a rule"
                " of the object (a percentage over 100 %, a usage limit below the uses already made).",
            )
        ]
    if row is None:
        return None, [Problem(Code.NOT_FOUND, "There is no such object.", ("id",))]
    return row, []


async def delete(conn: AsyncConnection, kind: str, row_id: int | None) -> list[Problem]:
    if row_id is None or not await repo.delete_row(conn, kind, row_id):
        return [Problem(Code.NOT_FOUND, "There is no such object.", ("id",))]
    return []


async def listing(conn: AsyncConnection, kind: str, limit: int) -> list[Any]:
    return await repo.list_rows(conn, kind, min(max(limit, 0), MAX_ROWS))


async def get(conn: AsyncConnection, kind: str, row_id: int) -> Any | None:
    return await repo.get_row(conn, kind, row_id)
