"""Reads and writes of shipping zones and methods, tax rates, discount codes and their uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from core import pii
from models.catalog import Product, ProductVariant
from models.totals import (
    CartDiscountCode,
    DiscountCode,
    DiscountCodeUse,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)

zones = ShippingZone.__table__
methods = ShippingMethod.__table__
rates = TaxRate.__table__
codes = DiscountCode.__table__
uses = DiscountCodeUse.__table__
cart_codes = CartDiscountCode.__table__
products = Product.__table__
variants = ProductVariant.__table__
TABLES = {"zone": zones, "method": methods, "rate": rates, "code": codes}


@dataclass(slots=True, frozen=True)
class LineFacts:
    product_id: int
    category_id: int | None
    tax_class: str
    is_shipping_required: bool
    weight_grams: int


@dataclass(slots=True, frozen=True)
class ZoneRow:
    id: int
    name: str
    countries: list[str]
    regions: list[str]
    postcode_prefixes: list[str]


@dataclass(slots=True, frozen=True)
class MethodRow:
    id: int
    zone_id: int
    name: str
    kind: str
    price: int
    bands: list[dict[str, Any]]
    free_above: int | None
    delivery_estimate: str | None
    is_active: bool
    position: int


@dataclass(slots=True, frozen=True)
class RateRow:
    id: int
    country: str
    region: str
    tax_class: str
    basis_points: int
    name: str


@dataclass(slots=True, frozen=True)
class CodeRow:
    id: int
    code: str
    kind: str
    value: int
    category_ids: list[int]
    product_ids: list[int]
    min_subtotal: int
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    usage_limit_per_customer: int | None
    used: int
    is_active: bool


ROWS: dict[str, Any] = {"zone": ZoneRow, "method": MethodRow, "rate": RateRow, "code": CodeRow}


def _columns(table: Any, row_type: Any) -> list[Any]:
    return [table.c[name] for name in row_type.__dataclass_fields__]


# Checkout's lookups, built once (a statement built per call costs tens of microseconds).
_LINE_FACTS = (
    select(
        variants.c.id,
        products.c.id.label("product_id"),
        products.c.category_id,
        products.c.tax_class,
        products.c.is_shipping_required,
        variants.c.weight_grams,
    )
    .select_from(variants.join(products, products.c.id == variants.c.product_id))
    .where(variants.c.id.in_(bindparam("variant_ids", expanding=True)))
)


async def line_facts(conn: AsyncConnection, variant_ids: list[int]) -> dict[int, LineFacts]:
    return {
        row.id: LineFacts(
            row.product_id, row.category_id, row.tax_class, row.is_shipping_required, row.weight_grams
        )
        for row in await conn.execute(_LINE_FACTS, {"variant_ids": list(variant_ids)})
    }


_ZONE_MATCHES = text(
    """
    :country = ANY(shipping_zones.countries)
    AND (cardinality(shipping_zones.regions) = 0 OR upper(:region) = ANY(shipping_zones.regions))
    AND (cardinality(shipping_zones.postcode_prefixes) = 0 OR EXISTS (
        SELECT 1 FROM unnest(shipping_zones.postcode_prefixes) AS p(prefix)
        WHERE upper(replace(:postcode, ' ', '')) LIKE upper(replace(p.prefix, ' ', '')) || '%'
    ))
    """
)


_METHODS_FOR_ADDRESS = (
    select(*_columns(methods, MethodRow))
    .select_from(methods.join(zones, zones.c.id == methods.c.zone_id))
    .where(methods.c.is_active, _ZONE_MATCHES)
    .order_by(methods.c.position, methods.c.id)
)


async def methods_for_address(
    conn: AsyncConnection, country: str, region: str | None, postcode: str | None
) -> list[MethodRow]:
    """Active methods of every zone that holds the address."""
    params = {"country": country, "region": region or "", "postcode": postcode or ""}
    return [MethodRow(**row._mapping) for row in await conn.execute(_METHODS_FOR_ADDRESS, params)]


_RATES_FOR = select(*_columns(rates, RateRow)).where(
    rates.c.country == bindparam("country"),
    rates.c.region.in_([bindparam("any_region"), bindparam("region")]),
)


async def rates_for(conn: AsyncConnection, country: str, region: str | None) -> list[RateRow]:
    params = {"country": country, "any_region": "", "region": (region or "").upper()}
    return [RateRow(**row._mapping) for row in await conn.execute(_RATES_FOR, params)]


async def code_by_text(conn: AsyncConnection, code: str) -> CodeRow | None:
    row = (await conn.execute(select(*_columns(codes, CodeRow)).where(codes.c.code == code))).first()
    return CodeRow(**row._mapping) if row else None


_CODE_OF_CART = (
    select(*_columns(codes, CodeRow))
    .select_from(codes.join(cart_codes, cart_codes.c.code_id == codes.c.id))
    .where(cart_codes.c.cart_id == bindparam("cart_id"))
)


async def code_of_cart(conn: AsyncConnection, cart_id: int) -> CodeRow | None:
    row = (await conn.execute(_CODE_OF_CART, {"cart_id": cart_id})).first()
    return CodeRow(**row._mapping) if row else None


@dataclass(slots=True, frozen=True)
class References:
    """What checkout's totals look up besides the lines: the cart's code and the address's
    shipping methods and tax rates, as `methods_for_address`, `rates_for` and `code_of_cart` read them."""

    code: CodeRow | None
    methods: list[MethodRow]
    rates: list[RateRow]


def _as_json(query: Any, name: str, *order: Any) -> Any:
    """The rows of `query` as one JSON array (`name`: the rows' alias, not one of their columns)."""
    rows = query.subquery(name)
    aggregated = func.json_agg(aggregate_order_by(literal_column(name), *(rows.c[c] for c in order)))
    return select(func.coalesce(aggregated, literal_column("'[]'::json"))).select_from(rows).scalar_subquery()


# `References` as three JSON columns, for a statement of checkout's transaction that reads the
# cart's lines (models.checkout_repository.claimed_lines): three round trips fewer than one read
# each. Parameters: `reference_params` and the statement's own `cart_id`.
REFERENCE_COLUMNS = (
    select(func.row_to_json(literal_column("found_code")))
    .select_from(_CODE_OF_CART.subquery("found_code"))
    .scalar_subquery()
    .label("ref_code"),
    _as_json(_METHODS_FOR_ADDRESS, "found_method", "position", "id").label("ref_methods"),
    _as_json(_RATES_FOR, "found_rate", "id").label("ref_rates"),
)


def reference_params(address: dict[str, str | None]) -> dict[str, Any]:
    """The parameters of `REFERENCE_COLUMNS` for a shipping address (as domain.quotes reads it)."""
    region = (address.get("state") or "").upper()  # methods compare upper(:region): the same either way
    return {
        "country": address.get("country") or "",
        "region": region,
        "postcode": address.get("postal_code") or "",
        "any_region": "",
    }


def _loaded(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def references_of(row: Any) -> References:
    """`REFERENCE_COLUMNS` as read in a row."""
    code = _loaded(row.ref_code)
    if code is not None:
        for name in ("starts_at", "ends_at"):
            if code[name] is not None:
                code[name] = datetime.fromisoformat(code[name])
    return References(
        code=CodeRow(**code) if code is not None else None,
        methods=[MethodRow(**method) for method in _loaded(row.ref_methods)],
        rates=[RateRow(**rate) for rate in _loaded(row.ref_rates)],
    )


async def set_cart_code(conn: AsyncConnection, cart_id: int, code_id: int) -> None:
    statement = pg_insert(cart_codes).values(cart_id=cart_id, code_id=code_id)
    await conn.execute(statement.on_conflict_do_update(index_elements=["cart_id"], set_={"code_id": code_id}))


async def remove_cart_code(conn: AsyncConnection, cart_id: int, code_id: int) -> bool:
    result = await conn.execute(
        delete(cart_codes).where(cart_codes.c.cart_id == cart_id, cart_codes.c.code_id == code_id)
    )
    return result.rowcount == 1


async def consume_code(conn: AsyncConnection, code_id: int) -> bool:
    """Count one use, unless the code is used up: one conditional UPDATE, so concurrent checkouts
    wait for each other's row lock and re-check the limit (never more uses than the limit)."""
    result = await conn.execute(
        update(codes)
        .where(codes.c.id == code_id)
        .where((codes.c.usage_limit.is_(None)) | (codes.c.used < codes.c.usage_limit))
        .values(used=codes.c.used + 1)
    )
    return result.rowcount == 1


async def live_uses_by(conn: AsyncConnection, code_id: int, email: str) -> int:
    statement = select(func.count()).where(
        uses.c.code_id == code_id, uses.c.email_index == _email_index(email), uses.c.released_at.is_(None)
    )
    return (await conn.execute(statement)).scalar_one()


async def record_use(conn: AsyncConnection, code_id: int, order_id: int, email: str) -> None:
    await conn.execute(
        insert(uses).values(code_id=code_id, order_id=order_id, email_index=_email_index(email))
    )


def _email_index(email: str) -> bytes:
    """Uses per customer are counted by the e-mail's blind index (core.pii): no plain e-mail stored."""
    return pii.blind_index(email.strip().lower())


async def release_uses(conn: AsyncConnection, order_id: int) -> int:
    """Give an order's code uses back (it was cancelled unpaid); a second call releases nothing."""
    released = (
        (
            await conn.execute(
                update(uses)
                .where(uses.c.order_id == order_id, uses.c.released_at.is_(None))
                .values(released_at=func.now())
                .returning(uses.c.code_id)
            )
        )
        .scalars()
        .all()
    )
    for code_id in released:
        await conn.execute(
            update(codes).where(codes.c.id == code_id, codes.c.used > 0).values(used=codes.c.used - 1)
        )
    return len(released)


# ---------------------------------------------------------------- staff edits


async def create(conn: AsyncConnection, kind: str, values: dict[str, Any]) -> Any:
    table, row_type = TABLES[kind], ROWS[kind]
    row = (await conn.execute(insert(table).values(**values).returning(*_columns(table, row_type)))).one()
    return row_type(**row._mapping)


async def update_row(conn: AsyncConnection, kind: str, row_id: int, values: dict[str, Any]) -> Any | None:
    table, row_type = TABLES[kind], ROWS[kind]
    statement = update(table).where(table.c.id == row_id).returning(*_columns(table, row_type))
    row = (await conn.execute(statement.values(**values) if values else _select(kind, row_id))).first()
    return row_type(**row._mapping) if row else None


def _select(kind: str, row_id: int) -> Any:
    table, row_type = TABLES[kind], ROWS[kind]
    return select(*_columns(table, row_type)).where(table.c.id == row_id)


async def get_row(conn: AsyncConnection, kind: str, row_id: int) -> Any | None:
    row = (await conn.execute(_select(kind, row_id))).first()
    return ROWS[kind](**row._mapping) if row else None


async def delete_row(conn: AsyncConnection, kind: str, row_id: int) -> bool:
    table = TABLES[kind]
    return (await conn.execute(delete(table).where(table.c.id == row_id))).rowcount == 1


async def list_rows(conn: AsyncConnection, kind: str, limit: int) -> list[Any]:
    table, row_type = TABLES[kind], ROWS[kind]
    statement = select(*_columns(table, row_type)).order_by(table.c.id).limit(limit)
    return [row_type(**row._mapping) for row in await conn.execute(statement)]


async def has_zones(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(func.count()).select_from(zones))).scalar_one() > 0
