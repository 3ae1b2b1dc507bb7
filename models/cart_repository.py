"""Reads and writes of carts and their lines. Every function takes an open connection.

Lines are read together with their variant (current price and availability), and only for
variants of active products: the others are not for sale and are left out of the cart.
Whether a line's price lock still holds is decided by the database clock, as the lock was set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.types import BigInteger, DateTime, Integer, Interval, String

from models.carts import Cart, CartLine
from models.catalog import Product, ProductVariant
from models.catalog_repository import VariantRow

carts = Cart.__table__
cart_lines = CartLine.__table__
variants = ProductVariant.__table__
products = Product.__table__


@dataclass(slots=True, frozen=True)
class CartRow:
    id: int
    token: str
    user_id: int | None
    status: str


_cart_columns = tuple(carts.c[field] for field in CartRow.__dataclass_fields__)


@dataclass(slots=True, frozen=True)
class CartLineRow:
    id: int
    variant: VariantRow
    quantity: int
    unit_price: int
    price_locked_at: datetime
    price_locked: bool
    # Units covered by the lock (domain.price_lock); None: all of them.
    locked_quantity: int | None = None


@dataclass(slots=True, frozen=True)
class CartContents:
    cart: CartRow
    lines: list[CartLineRow]


@dataclass(slots=True, frozen=True)
class CartState:
    """The lines of a cart, and the requested variants that are not in it yet."""

    lines: list[CartLineRow]
    other_variants: dict[int, VariantRow]


@dataclass(slots=True, frozen=True)
class LineWrite:
    """A line as a change leaves it; `price_locked_at` None starts its lock now (database clock)."""

    variant_id: int
    quantity: int
    unit_price: int
    locked_quantity: int
    price_locked_at: datetime | None


@dataclass(slots=True, frozen=True)
class LinePlacement:
    """A line to put into a cart as it is, with its own price lock (merging carts)."""

    variant_id: int
    quantity: int
    unit_price: int
    price_locked_at: datetime
    locked_quantity: int


def _cart_row(row: Any) -> CartRow:
    return CartRow(id=row.id, token=row.token, user_id=row.user_id, status=row.status)


def _variant_row(row: Any) -> VariantRow:
    return VariantRow(
        id=row.variant_id,
        product_id=row.product_id,
        sku=row.sku,
        name=row.name,
        price=row.price,
        quantity_available=row.quantity_available,
    )


def _line_row(row: Any) -> CartLineRow:
    return CartLineRow(
        id=row.line_id,
        variant=_variant_row(row),
        quantity=row.quantity,
        unit_price=row.unit_price,
        price_locked_at=row.price_locked_at,
        price_locked=row.price_locked,
        locked_quantity=row.locked_quantity,
    )


_variant_columns = (
    variants.c.id.label("variant_id"),
    variants.c.product_id,
    variants.c.sku,
    variants.c.name,
    variants.c.price,
    (variants.c.stock - variants.c.reserved).label("quantity_available"),
)
_for_sale = variants.join(
    products,
    and_(products.c.id == variants.c.product_id, products.c.is_active, variants.c.deleted_at.is_(None)),
)
_lines_for_sale = cart_lines.join(_for_sale, variants.c.id == cart_lines.c.variant_id)


def price_lock_holds(lock_ttl: timedelta | ColumnElement[timedelta]) -> ColumnElement[bool]:
    """Whether a line still keeps the price it was added at."""
    return cart_lines.c.price_locked_at > func.now() - lock_ttl


def _line_columns(lock_ttl: timedelta | ColumnElement[timedelta]) -> tuple[ColumnElement[Any], ...]:
    return (
        cart_lines.c.id.label("line_id"),
        cart_lines.c.quantity,
        cart_lines.c.unit_price,
        cart_lines.c.price_locked_at,
        price_lock_holds(lock_ttl).label("price_locked"),
        cart_lines.c.locked_quantity,
    )


# ---------------------------------------------------------------- carts


# The statements of the cart round trip are built once, with named parameters: building one
# anew for every request cost SQLAlchemy more CPU than executing it.
_LOCK_TTL = bindparam("lock_ttl", type_=Interval)

_LOCK_BY_TOKEN = (
    update(carts)
    .where(
        carts.c.token == bindparam("cart_token", type_=String),
        carts.c.status == "active",
        carts.c.deleted_at.is_(None),
    )
    .values(updated_at=func.now())
    .returning(*_cart_columns)
)


async def lock_active_cart_by_token(conn: AsyncConnection, token: str) -> CartRow | None:
    """The active cart with this token, locked until the transaction ends (and its updated_at set)."""
    row = (await conn.execute(_LOCK_BY_TOKEN, {"cart_token": token})).first()
    return _cart_row(row) if row else None


async def lock_active_cart_of_user(conn: AsyncConnection, user_id: int) -> CartRow | None:
    statement = (
        update(carts)
        .where(carts.c.user_id == user_id, carts.c.status == "active", carts.c.deleted_at.is_(None))
        .values(updated_at=func.now())
        .returning(*_cart_columns)
    )
    row = (await conn.execute(statement)).first()
    return _cart_row(row) if row else None


async def insert_cart(conn: AsyncConnection, token: str, user_id: int | None) -> CartRow | None:
    """A new active cart, or None when the user already has one (created concurrently)."""
    statement = (
        insert(carts).values(token=token, user_id=user_id).on_conflict_do_nothing().returning(*_cart_columns)
    )
    row = (await conn.execute(statement)).first()
    return _cart_row(row) if row else None


def _line_write_parameters() -> tuple[BindParameter[Any], ...]:
    """The arrays of line writes a statement unnests (their values: `_write_arguments`)."""
    return (
        bindparam("variant_ids", type_=ARRAY(BigInteger)),
        bindparam("quantities", type_=ARRAY(Integer)),
        bindparam("unit_prices", type_=ARRAY(Integer)),
        bindparam("locked_quantities", type_=ARRAY(Integer)),
        bindparam("locked_at", type_=ARRAY(DateTime(timezone=True))),
    )


_INSERT_CART_WITH_LINES = text(
    """
    WITH cart AS (
        INSERT INTO carts (token) VALUES (:token) RETURNING id, token, user_id, status
    ), written AS (
        INSERT INTO cart_lines (cart_id, variant_id, quantity, unit_price, locked_quantity, price_locked_at)
        SELECT cart.id, w.variant_id, w.quantity, w.unit_price, w.locked_quantity,
               coalesce(w.locked_at, now())
        FROM cart, unnest(:variant_ids, :quantities, :unit_prices, :locked_quantities, :locked_at)
            AS w(variant_id, quantity, unit_price, locked_quantity, locked_at)
        RETURNING id, variant_id, quantity, unit_price, price_locked_at, locked_quantity
    )
    SELECT cart.id, cart.token, cart.user_id, cart.status, written.id AS line_id, written.variant_id,
           written.quantity, written.unit_price, written.price_locked_at, written.locked_quantity
    FROM cart LEFT JOIN written ON true
    ORDER BY written.id
    """
).bindparams(
    bindparam("token", type_=String),
    *_line_write_parameters(),
)


async def insert_cart_with_lines(
    conn: AsyncConnection, token: str, writes: Sequence[LineWrite]
) -> tuple[CartRow, list[WrittenLine]]:
    """A new anonymous cart and its lines, in one statement: both or neither."""
    result = await conn.execute(_INSERT_CART_WITH_LINES, {"token": token, **_write_arguments(writes)})
    rows = result.all()
    # A line's columns follow the cart's, in WrittenLine's order (as `write_lines` returns them).
    written = [WrittenLine(*row[4:]) for row in rows if row.line_id is not None]
    return _cart_row(rows[0]), written


async def soft_delete_carts_of_user(conn: AsyncConnection, user_id: int) -> None:
    """Mark the user's carts deleted (an account deleted): no lookup finds them again."""
    await conn.execute(
        update(carts)
        .where(carts.c.user_id == user_id, carts.c.deleted_at.is_(None))
        .values(deleted_at=func.now(), updated_at=func.now())
    )


async def set_cart_status(conn: AsyncConnection, cart_id: int, status: str) -> None:
    await conn.execute(
        update(carts).where(carts.c.id == cart_id).values(status=status, updated_at=func.now())
    )


_ACTIVE_CART_CONTENTS = (
    select(*_cart_columns, *_variant_columns, *_line_columns(_LOCK_TTL))
    .select_from(carts.outerjoin(_lines_for_sale, cart_lines.c.cart_id == carts.c.id))
    .where(carts.c.status == "active", carts.c.deleted_at.is_(None))
    .order_by(cart_lines.c.id)
)
_ACTIVE_CART_BY_TOKEN = _ACTIVE_CART_CONTENTS.where(carts.c.token == bindparam("token", type_=String))
_ACTIVE_CART_OF_USER = _ACTIVE_CART_CONTENTS.where(carts.c.user_id == bindparam("user_id", type_=BigInteger))


def _contents(rows: Sequence[Any]) -> CartContents | None:
    if not rows:
        return None
    lines = [_line_row(row) for row in rows if row.line_id is not None]
    return CartContents(cart=_cart_row(rows[0]), lines=lines)


async def active_cart_by_token(conn: AsyncConnection, token: str, lock_ttl: timedelta) -> CartContents | None:
    """An active cart and its lines in one statement (no lock: for reading)."""
    result = await conn.execute(_ACTIVE_CART_BY_TOKEN, {"token": token, "lock_ttl": lock_ttl})
    return _contents(result.all())


async def active_cart_of_user(
    conn: AsyncConnection, user_id: int, lock_ttl: timedelta
) -> CartContents | None:
    result = await conn.execute(_ACTIVE_CART_OF_USER, {"user_id": user_id, "lock_ttl": lock_ttl})
    return _contents(result.all())


# ---------------------------------------------------------------- lines


# Those of `variant_ids` that are for sale (a cart's state adds: and not in the cart yet).
_VARIANTS_FOR_SALE = (
    select(*_variant_columns)
    .select_from(_for_sale)
    .where(variants.c.id == any_(bindparam("variant_ids", type_=ARRAY(BigInteger))))
)


def _cart_state_statement() -> Select[Any]:
    cart_id = bindparam("cart_id", type_=BigInteger)
    in_cart = (
        select(*_variant_columns, *_line_columns(_LOCK_TTL))
        .select_from(_lines_for_sale)
        .where(cart_lines.c.cart_id == cart_id)
    )
    not_in_cart = _VARIANTS_FOR_SALE.add_columns(
        *(null().label(column.key) for column in _line_columns(_LOCK_TTL))
    ).where(~exists().where(cart_lines.c.cart_id == cart_id, cart_lines.c.variant_id == variants.c.id))
    statement = union_all(in_cart, not_in_cart)
    return statement.order_by(
        statement.selected_columns.line_id.nulls_last(), statement.selected_columns.variant_id
    )


_CART_STATE = _cart_state_statement()


async def cart_state(
    conn: AsyncConnection, cart_id: int, lock_ttl: timedelta, variant_ids: Sequence[int] = ()
) -> CartState:
    """Every line of a cart, and those of `variant_ids` that are for sale but not in the cart yet."""
    result = await conn.execute(
        _CART_STATE, {"cart_id": cart_id, "lock_ttl": lock_ttl, "variant_ids": list(variant_ids)}
    )
    lines: list[CartLineRow] = []
    others: dict[int, VariantRow] = {}
    for row in result:
        if row.line_id is None:
            others[row.variant_id] = _variant_row(row)
        else:
            lines.append(_line_row(row))
    return CartState(lines=lines, other_variants=others)


async def variants_for_sale(conn: AsyncConnection, variant_ids: Sequence[int]) -> dict[int, VariantRow]:
    """Those of `variant_ids` that are for sale (as `cart_state` reads the variants not in a cart)."""
    result = await conn.execute(_VARIANTS_FOR_SALE, {"variant_ids": list(variant_ids)})
    return {row.variant_id: _variant_row(row) for row in result}


_WRITE = text(
    """
    INSERT INTO cart_lines AS cl (cart_id, variant_id, quantity, unit_price, locked_quantity, price_locked_at)
    SELECT :cart_id, w.variant_id, w.quantity, w.unit_price, w.locked_quantity, coalesce(w.locked_at, now())
    FROM unnest(:variant_ids, :quantities, :unit_prices, :locked_quantities, :locked_at)
        AS w(variant_id, quantity, unit_price, locked_quantity, locked_at)
    ON CONFLICT (cart_id, variant_id) DO UPDATE SET
        quantity = excluded.quantity,
        unit_price = excluded.unit_price,
        locked_quantity = excluded.locked_quantity,
        price_locked_at = excluded.price_locked_at
    RETURNING cl.id, cl.variant_id, cl.quantity, cl.unit_price, cl.price_locked_at, cl.locked_quantity
    """
).bindparams(
    bindparam("cart_id", type_=BigInteger),
    *_line_write_parameters(),
)


@dataclass(slots=True, frozen=True)
class WrittenLine:
    """A cart line as a write left it."""

    id: int
    variant_id: int
    quantity: int
    unit_price: int
    price_locked_at: datetime
    locked_quantity: int


async def write_lines(conn: AsyncConnection, cart_id: int, writes: Sequence[LineWrite]) -> list[WrittenLine]:
    """Write lines of a cart as given (the caller holds the cart's lock), creating missing ones."""
    if not writes:
        return []
    result = await conn.execute(_WRITE, {"cart_id": cart_id, **_write_arguments(writes)})
    return [WrittenLine(*row) for row in result]


def _write_arguments(writes: Sequence[LineWrite]) -> dict[str, list[Any]]:
    return {
        "variant_ids": [write.variant_id for write in writes],
        "quantities": [write.quantity for write in writes],
        "unit_prices": [write.unit_price for write in writes],
        "locked_quantities": [write.locked_quantity for write in writes],
        "locked_at": [write.price_locked_at for write in writes],
    }


_PLACE = text(
    """
    INSERT INTO cart_lines AS cl (cart_id, variant_id, quantity, unit_price, price_locked_at, locked_quantity)
    SELECT :cart_id, placed.variant_id, placed.quantity, placed.unit_price, placed.price_locked_at,
           placed.locked_quantity
    FROM unnest(:variant_ids, :quantities, :unit_prices, :locked_at, :locked_quantities)
        AS placed(variant_id, quantity, unit_price, price_locked_at, locked_quantity)
    ON CONFLICT (cart_id, variant_id) DO UPDATE SET
        quantity = excluded.quantity, locked_quantity = excluded.locked_quantity
    """
).bindparams(
    bindparam("cart_id", type_=BigInteger),
    bindparam("variant_ids", type_=ARRAY(BigInteger)),
    bindparam("quantities", type_=ARRAY(Integer)),
    bindparam("unit_prices", type_=ARRAY(Integer)),
    bindparam("locked_at", type_=ARRAY(DateTime(timezone=True))),
    bindparam("locked_quantities", type_=ARRAY(Integer)),
)


async def place_lines(conn: AsyncConnection, cart_id: int, placements: Sequence[LinePlacement]) -> None:
    """Put lines into a cart: new lines keep the given price lock; existing lines take the quantity."""
    if not placements:
        return
    await conn.execute(
        _PLACE,
        {
            "cart_id": cart_id,
            "variant_ids": [placement.variant_id for placement in placements],
            "quantities": [placement.quantity for placement in placements],
            "unit_prices": [placement.unit_price for placement in placements],
            "locked_at": [placement.price_locked_at for placement in placements],
            "locked_quantities": [placement.locked_quantity for placement in placements],
        },
    )


_SET_QUANTITIES = text(
    """
    UPDATE cart_lines AS cl SET quantity = changed.quantity, locked_quantity = changed.locked_quantity
    FROM unnest(:line_ids, :quantities, :locked_quantities) AS changed(line_id, quantity, locked_quantity)
    WHERE cl.id = changed.line_id AND cl.cart_id = :cart_id
    """
).bindparams(
    bindparam("cart_id", type_=BigInteger),
    bindparam("line_ids", type_=ARRAY(BigInteger)),
    bindparam("quantities", type_=ARRAY(Integer)),
    bindparam("locked_quantities", type_=ARRAY(Integer)),
)


async def set_line_quantities(
    conn: AsyncConnection, cart_id: int, quantities: Mapping[int, tuple[int, int]]
) -> None:
    """Set lines' (quantity, locked quantity), by line id."""
    if not quantities:
        return
    await conn.execute(
        _SET_QUANTITIES,
        {
            "cart_id": cart_id,
            "line_ids": list(quantities),
            "quantities": [quantity for quantity, _ in quantities.values()],
            "locked_quantities": [locked for _, locked in quantities.values()],
        },
    )


async def delete_lines(conn: AsyncConnection, cart_id: int, line_ids: Sequence[int]) -> set[int]:
    """Delete lines of a cart; returns the ids that were there."""
    if not line_ids:
        return set()
    statement = (
        delete(cart_lines)
        .where(cart_lines.c.cart_id == cart_id, cart_lines.c.id.in_(list(line_ids)))
        .returning(cart_lines.c.id)
    )
    return set((await conn.execute(statement)).scalars())
