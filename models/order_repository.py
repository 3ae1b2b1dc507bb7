"""Reads and writes of orders, their lines and history, and of payment events seen."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    true,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from core.pii import blind_index
from models.catalog import Product, ProductVariant
from models.orders import Order, OrderLine, OrderStatus, OrderStatusChange, ProcessedPaymentEvent

orders = Order.__table__
order_lines = OrderLine.__table__
history = OrderStatusChange.__table__
payment_events = ProcessedPaymentEvent.__table__
# Where every status change is published (`_with_change`; domain.order_events listens).
STATUS_CHANNEL = "order_status"
products = Product.__table__
variants = ProductVariant.__table__


@dataclass(slots=True, frozen=True)
class OrderRow:
    id: int
    public_id: uuid.UUID
    number: int
    user_id: int | None
    cart_id: int | None
    email: str
    status: str
    currency: str
    subtotal: int
    total: int
    shipping_address: dict[str, Any]
    tracking_number: str | None
    stock_state: str
    reservation_expires_at: datetime
    payment_session_id: str | None
    payment_url: str | None
    success_url: str | None
    cancel_url: str | None
    payment_intent_id: str | None
    refund_id: str | None
    paid_at: datetime | None
    created_at: datetime
    # The totals snapshot (migration 0007, domain.totals).
    discount: int
    shipping: int
    tax: int
    prices_include_tax: bool
    tax_lines: list[dict[str, Any]]
    shipping_method_id: int | None
    shipping_method_name: str | None
    discount_codes: list[str]
    vat_number: str | None
    reverse_charge: bool
    reverse_charge_reason: str | None
    billing_address: dict[str, Any] | None


@dataclass(slots=True, frozen=True)
class OrderLineRow:
    id: int
    order_id: int
    variant_id: int | None
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: int
    line_total: int
    discount: int
    tax: int
    tax_basis_points: int | None


@dataclass(slots=True, frozen=True)
class StatusChangeRow:
    id: int
    order_id: int
    from_status: str | None
    to_status: str
    at: datetime
    reason: str | None
    actor: str


@dataclass(slots=True, frozen=True)
class NewOrderLine:
    variant_id: int
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: int
    discount: int = 0  # its part of the order's discount (domain.totals)
    tax: int = 0
    tax_basis_points: int | None = None


@dataclass(slots=True, frozen=True)
class OrderTotals:
    """What checkout computed (domain.totals), stored as the order's snapshot."""

    discount: int = 0
    shipping: int = 0
    tax: int = 0
    prices_include_tax: bool = False
    tax_lines: tuple[dict[str, Any], ...] = ()
    shipping_method_id: int | None = None
    shipping_method_name: str | None = None
    discount_codes: tuple[str, ...] = ()
    vat_number: str | None = None
    reverse_charge: bool = False
    reverse_charge_reason: str | None = None
    billing_address: dict[str, Any] | None = None


_order_columns = [orders.c[field] for field in OrderRow.__dataclass_fields__]
_line_columns = [order_lines.c[field] for field in OrderLineRow.__dataclass_fields__]
_history_columns = [history.c[field] for field in StatusChangeRow.__dataclass_fields__]


def _order(row: Any) -> OrderRow:
    return OrderRow(**row._mapping)


# The order flow's hottest reads, built once: a statement built per call costs 50-75 us of Python
# (construction and SQLAlchemy's cache key) before it is even sent, several times per order.
# An insert built once, its values given at execution (the columns are those of the parameters).
_APPEND_HISTORY = insert(history).returning(*_history_columns)
_LOCK_ORDER = select(*_order_columns).where(orders.c.id == bindparam("order_id")).with_for_update()
# Recorded once per checkout, built once too (its values given at execution).
_SET_PAYMENT_SESSION = (
    update(orders)
    .where(
        orders.c.id == bindparam("order_id"),
        orders.c.payment_session_id.is_(None) | (orders.c.payment_session_id == bindparam("session_id")),
    )
    .values(
        payment_session_id=bindparam("session_id"),
        payment_url=bindparam("new_payment_url"),
        success_url=bindparam("new_success_url"),
        cancel_url=bindparam("new_cancel_url"),
        updated_at=func.now(),
    )
    .returning(*_order_columns)
)
# An order's lines as one JSON array of arrays (columns in OrderLineRow's order, lines by id), to
# read with the order in the same statement: lines never change once the order is placed.
_LINES_JSON = type_coerce(
    select(
        func.coalesce(
            func.json_agg(aggregate_order_by(func.json_build_array(*_line_columns), order_lines.c.id)),
            literal_column("'[]'::json"),
        )
    )
    .where(order_lines.c.order_id == orders.c.id)
    .scalar_subquery(),
    JSON,
).label("order_lines")
_ORDER_WITH_LINES = select(*_order_columns, _LINES_JSON).where(orders.c.id == bindparam("order_id"))
_LOCK_ORDER_WITH_LINES = _ORDER_WITH_LINES.with_for_update(of=orders)
_ORDER_BY_ID = select(*_order_columns).where(orders.c.id == bindparam("order_id"))
_ORDER_BY_SESSION = select(*_order_columns).where(orders.c.payment_session_id == bindparam("session_id"))
_LINES_OF_ORDER = (
    select(*_line_columns).where(order_lines.c.order_id == bindparam("order_id")).order_by(order_lines.c.id)
)
_HISTORY_OF_ORDER = (
    select(*_history_columns).where(history.c.order_id == bindparam("order_id")).order_by(history.c.id)
)


@dataclass(slots=True, frozen=True)
class ChangedOrder:
    order: OrderRow  # as the statement left it
    change: StatusChangeRow  # the history entry the statement appended


# What `insert` fills in of an order (the others have the database's defaults).
_GIVEN_ORDER = (
    "user_id", "cart_id", "email", "email_index", "status", "currency", "subtotal", "total",
    "shipping_address", "discount", "shipping", "tax", "prices_include_tax", "tax_lines",
    "shipping_method_id", "shipping_method_name", "discount_codes", "vat_number", "reverse_charge",
    "reverse_charge_reason", "billing_address", "reservation_expires_at", "client_key",
)  # fmt: skip
_GIVEN_LINE = (
    "variant_id", "sku", "product_name", "variant_name", "quantity", "unit_price", "line_total",
    "discount", "tax", "tax_basis_points",
)  # fmt: skip


def _with_change(changed: Any) -> Any:
    """A statement that appends the history entry of the order row(s) `changed` (a CTE returning
    the order's columns), publishes the change on STATUS_CHANNEL and answers the order and the
    entry (`_changed`); its parameters: from_status, to_status, reason, actor.

    The notification is queued by the statement itself (pg_notify in a CTE the answer joins, so
    that PostgreSQL runs it): delivered when the caller's transaction commits, never if it rolls
    back, as a `SELECT pg_notify` of its own would be, one round trip fewer. Its payload is what
    domain.order_events reads: the order and its user, the entry's id, statuses and time."""
    new_change = (
        insert(history)
        .from_select(
            ["order_id", "from_status", "to_status", "reason", "actor"],
            select(
                changed.c.id,
                bindparam("from_status", type_=history.c.from_status.type),
                bindparam("to_status", type_=history.c.to_status.type),
                bindparam("reason", type_=history.c.reason.type),
                bindparam("actor", type_=history.c.actor.type),
            ),
        )
        .returning(*_history_columns)
        .cte("new_change")
    )
    payload = func.json_build_object(
        "order_id", new_change.c.order_id,
        "user_id", changed.c.user_id,
        "change_id", new_change.c.id,
        "from", new_change.c.from_status,
        "to", new_change.c.to_status,
        "at", new_change.c.at,
    )  # fmt: skip
    notified = (
        select(func.pg_notify(STATUS_CHANNEL, cast(payload, Text)).label("notified"))
        .select_from(changed.join(new_change, true()))
        .cte("notified")
    )
    return select(*changed.c, *(column.label(f"change_{column.key}") for column in new_change.c)).select_from(
        changed.join(new_change, true()).join(notified, true())
    )


def _changed(row: Any) -> ChangedOrder:
    found = row._mapping
    order = OrderRow(**{name: found[name] for name in OrderRow.__dataclass_fields__})
    change = StatusChangeRow(
        **{name: found[f"change_{name}"] for name in StatusChangeRow.__dataclass_fields__}
    )
    return ChangedOrder(order, change)


def _placing() -> Any:
    """The order, its lines and its first history entry in one statement (data-modifying CTEs):
    one round trip where three were. The lines come as one array per column, inserted in their
    order (WITH ORDINALITY), so that their ids keep the cart's order."""
    new_order = (
        insert(orders)
        .values({name: bindparam(name, type_=orders.c[name].type) for name in _GIVEN_ORDER})
        .returning(*_order_columns)
        .cte("new_order")
    )
    given = (
        func.unnest(
            *(bindparam(f"line_{name}", type_=ARRAY(order_lines.c[name].type)) for name in _GIVEN_LINE)
        )
        .table_valued(*_GIVEN_LINE, with_ordinality="n")
        .render_derived(name="given")
    )
    new_lines = (
        insert(order_lines)
        .from_select(
            ["order_id", *_GIVEN_LINE],
            select(new_order.c.id, *(given.c[name] for name in _GIVEN_LINE))
            .select_from(new_order.join(given, true()))
            .order_by(given.c.n),
        )
        .returning(order_lines.c.id)
        .cte("new_lines")
    )
    return _with_change(new_order).add_cte(new_lines)


_PLACE_ORDER = _placing()


async def insert_order(
    conn: AsyncConnection,
    *,
    user_id: int | None,
    cart_id: int | None,
    email: str,
    status: str,
    currency: str,
    shipping_address: dict[str, Any],
    lines: Sequence[NewOrderLine],
    reservation_expires_at: datetime,
    reason: str,
    actor: str,
    client_key: bytes | None = None,
    totals: OrderTotals | None = None,
) -> ChangedOrder:
    """A new order with its lines and its first history entry (from no status to `status`)."""
    subtotal = sum(line.quantity * line.unit_price for line in lines)
    snapshot = totals or OrderTotals()
    charged = snapshot.tax if not snapshot.prices_include_tax else 0
    params = {
        "user_id": user_id,
        "cart_id": cart_id,
        "email": email,
        "email_index": blind_index(email.lower()),
        "status": status,
        "currency": currency,
        "subtotal": subtotal,
        "total": subtotal - snapshot.discount + snapshot.shipping + charged,
        "shipping_address": shipping_address,
        "discount": snapshot.discount,
        "shipping": snapshot.shipping,
        "tax": snapshot.tax,
        "prices_include_tax": snapshot.prices_include_tax,
        "tax_lines": list(snapshot.tax_lines),
        "shipping_method_id": snapshot.shipping_method_id,
        "shipping_method_name": snapshot.shipping_method_name,
        "discount_codes": list(snapshot.discount_codes),
        "vat_number": snapshot.vat_number,
        "reverse_charge": snapshot.reverse_charge,
        "reverse_charge_reason": snapshot.reverse_charge_reason,
        "billing_address": snapshot.billing_address,
        "reservation_expires_at": reservation_expires_at,
        "client_key": client_key,
        "from_status": None,
        "to_status": status,
        "reason": reason,
        "actor": actor,
        "line_variant_id": [line.variant_id for line in lines],
        "line_sku": [line.sku for line in lines],
        "line_product_name": [line.product_name for line in lines],
        "line_variant_name": [line.variant_name for line in lines],
        "line_quantity": [line.quantity for line in lines],
        "line_unit_price": [line.unit_price for line in lines],
        "line_line_total": [line.quantity * line.unit_price for line in lines],
        "line_discount": [line.discount for line in lines],
        "line_tax": [line.tax for line in lines],
        "line_tax_basis_points": [line.tax_basis_points for line in lines],
    }
    return _changed((await conn.execute(_PLACE_ORDER, params)).one())


async def lock_order(conn: AsyncConnection, order_id: int) -> OrderRow | None:
    row = (await conn.execute(_LOCK_ORDER, {"order_id": order_id})).first()
    return _order(row) if row else None


@dataclass(slots=True, frozen=True)
class OrderWithLines:
    order: OrderRow
    lines: list[OrderLineRow]  # by id (the cart's order)


def _with_lines(row: Any) -> OrderWithLines:
    found = row._mapping
    order = OrderRow(**{name: found[name] for name in OrderRow.__dataclass_fields__})
    return OrderWithLines(order, [OrderLineRow(*values) for values in found["order_lines"]])


async def order_with_lines(
    conn: AsyncConnection, order_id: int, *, lock: bool = False
) -> OrderWithLines | None:
    """The order and its lines in one statement (the e-mail job's, the payment event's read);
    `lock`: FOR UPDATE of the order row, for the caller's transaction."""
    statement = _LOCK_ORDER_WITH_LINES if lock else _ORDER_WITH_LINES
    row = (await conn.execute(statement, {"order_id": order_id})).first()
    return _with_lines(row) if row else None


async def order_by_cart(conn: AsyncConnection, cart_id: int) -> OrderRow | None:
    row = (await conn.execute(select(*_order_columns).where(orders.c.cart_id == cart_id))).first()
    return _order(row) if row else None


async def order_by_payment_session(conn: AsyncConnection, session_id: str) -> OrderRow | None:
    row = (await conn.execute(_ORDER_BY_SESSION, {"session_id": session_id})).first()
    return _order(row) if row else None


async def order_id_by_payment_intent(conn: AsyncConnection, payment_intent_id: str) -> int | None:
    return (
        await conn.execute(select(orders.c.id).where(orders.c.payment_intent_id == payment_intent_id))
    ).scalar_one_or_none()


async def update_order(conn: AsyncConnection, order_id: int, **values: Any) -> None:
    await conn.execute(update(orders).where(orders.c.id == order_id).values(updated_at=func.now(), **values))


@functools.cache
def _changing(columns: tuple[str, ...]) -> Any:
    """`change_order`'s statement for the columns it sets, built once per set: built per call,
    its construction and cache key cost more than the round trip it saves."""
    assigned = {name: bindparam(f"set_{name}", type_=orders.c[name].type) for name in columns}
    updated = (
        update(orders)
        .where(orders.c.id == bindparam("order_id"))
        .values({"updated_at": func.now(), **assigned})
        .returning(*_order_columns)
        .cte("changed")
    )
    return _with_change(updated)


async def change_order(
    conn: AsyncConnection,
    order_id: int,
    *,
    from_status: str,
    to_status: str,
    reason: str | None,
    actor: str,
    **values: Any,
) -> ChangedOrder | None:
    """Update the order (`values`, its status among them) and append the history entry of the
    change, in one statement; answers the order as it now is and the entry, None when there is
    no such order."""
    params = {
        "order_id": order_id,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "actor": actor,
        **{f"set_{name}": value for name, value in values.items()},
    }
    row = (await conn.execute(_changing(tuple(sorted(values))), params)).first()
    return _changed(row) if row else None


async def set_payment_session(
    conn: AsyncConnection, order_id: int, session_id: str, url: str, success_url: str, cancel_url: str
) -> OrderRow | None:
    """Record the session of an order once; a second identical call (an idempotent retry) records
    it again. Answers the order as it now is, or None when it has another session (not changed)."""
    params = {
        "order_id": order_id,
        "session_id": session_id,
        "new_payment_url": url,
        "new_success_url": success_url,
        "new_cancel_url": cancel_url,
    }
    row = (await conn.execute(_SET_PAYMENT_SESSION, params)).first()
    return _order(row) if row else None


async def append_history(
    conn: AsyncConnection,
    order_id: int,
    from_status: str | None,
    to_status: str,
    reason: str | None,
    actor: str,
) -> StatusChangeRow:
    params = {
        "order_id": order_id,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "actor": actor,
    }
    row = (await conn.execute(_APPEND_HISTORY, params)).one()
    return StatusChangeRow(**row._mapping)


async def lines_of_orders(conn: AsyncConnection, order_ids: Sequence[int]) -> dict[int, list[OrderLineRow]]:
    grouped: dict[int, list[OrderLineRow]] = defaultdict(list)
    if len(order_ids) == 1:  # the order flow's case: a statement built once
        result = await conn.execute(_LINES_OF_ORDER, {"order_id": order_ids[0]})
    else:
        result = await conn.execute(
            select(*_line_columns).where(order_lines.c.order_id.in_(order_ids)).order_by(order_lines.c.id)
        )
    for row in result:
        grouped[row.order_id].append(OrderLineRow(**row._mapping))
    return grouped


async def history_of_orders(
    conn: AsyncConnection, order_ids: Sequence[int]
) -> dict[int, list[StatusChangeRow]]:
    grouped: dict[int, list[StatusChangeRow]] = defaultdict(list)
    if len(order_ids) == 1:
        result = await conn.execute(_HISTORY_OF_ORDER, {"order_id": order_ids[0]})
    else:
        result = await conn.execute(
            select(*_history_columns).where(history.c.order_id.in_(order_ids)).order_by(history.c.id)
        )
    for row in result:
        grouped[row.order_id].append(StatusChangeRow(**row._mapping))
    return grouped


async def orders_by_ids(conn: AsyncConnection, order_ids: Sequence[int]) -> dict[int, OrderRow]:
    if len(order_ids) == 1:
        result = await conn.execute(_ORDER_BY_ID, {"order_id": order_ids[0]})
    else:
        result = await conn.execute(select(*_order_columns).where(orders.c.id.in_(order_ids)))
    return {row.id: _order(row) for row in result}


@dataclass(slots=True, frozen=True)
class OrderPage:
    rows: list[OrderRow]
    has_next_page: bool
    total_count: int


async def orders_of_user(
    conn: AsyncConnection, user_id: int, first: int, after: tuple[datetime, int] | None
) -> OrderPage:
    """The user's orders, newest first, by keyset after (created_at, id)."""
    statement = select(*_order_columns).where(orders.c.user_id == user_id)
    if after is not None:
        statement = statement.where(tuple_(orders.c.created_at, orders.c.id) < tuple_(*after))
    statement = statement.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(first + 1)
    rows = [_order(row) for row in await conn.execute(statement)]
    total = (
        await conn.execute(select(func.count()).select_from(orders).where(orders.c.user_id == user_id))
    ).scalar_one()
    return OrderPage(rows=rows[:first], has_next_page=len(rows) > first, total_count=total)


async def overdue_order_ids(conn: AsyncConnection, now: datetime, limit: int = 100) -> list[int]:
    """Unpaid orders whose reservation ran out, skipping those another process is handling."""
    result = await conn.execute(
        select(orders.c.id)
        .where(orders.c.status == OrderStatus.AWAITING_PAYMENT, orders.c.reservation_expires_at <= now)
        .order_by(orders.c.reservation_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def awaiting_payment_before(conn: AsyncConnection, created_before: datetime, limit: int) -> list[str]:
    """Payment sessions of orders still awaiting payment that were created before `created_before`."""
    result = await conn.execute(
        select(orders.c.payment_session_id)
        .where(
            orders.c.status == "AWAITING_PAYMENT",
            orders.c.payment_session_id.is_not(None),
            orders.c.created_at < created_before,
        )
        .order_by(orders.c.created_at)
        .limit(limit)
    )
    return list(result.scalars())


async def record_payment_event(conn: AsyncConnection, event_id: str, event_type: str) -> bool:
    """Record an event id; False when it was recorded before (a redelivery)."""
    result = await conn.execute(
        pg_insert(payment_events)
        .values(event_id=event_id, type=event_type)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(payment_events.c.event_id)
    )
    return result.first() is not None


async def set_payment_event_outcome(
    conn: AsyncConnection, event_id: str, order_id: int | None, outcome: str
) -> None:
    await conn.execute(
        update(payment_events)
        .where(payment_events.c.event_id == event_id)
        .values(order_id=order_id, outcome=outcome)
    )


async def payment_event_outcome(conn: AsyncConnection, event_id: str) -> tuple[int | None, str | None]:
    """The order a recorded event was about and what became of it."""
    row = (
        await conn.execute(
            select(payment_events.c.order_id, payment_events.c.outcome).where(
                payment_events.c.event_id == event_id
            )
        )
    ).first()
    return (row.order_id, row.outcome) if row else (None, None)


async def record_refund(conn: AsyncConnection, order_id: int, refund_id: str) -> bool:
    """Record the refund of an order's charge once; False when one was recorded already."""
    result = await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.refund_id.is_(None))
        .values(refund_id=refund_id, updated_at=func.now())
    )
    return result.rowcount == 1


async def latest_change_of_orders(
    conn: AsyncConnection, order_ids: Sequence[int]
) -> dict[int, StatusChangeRow]:
    result = await conn.execute(
        select(*_history_columns)
        .ext(distinct_on(history.c.order_id))
        .where(history.c.order_id.in_(order_ids))
        .order_by(history.c.order_id, history.c.id.desc())
    )
    return {row.order_id: StatusChangeRow(**row._mapping) for row in result}


async def changes_after(conn: AsyncConnection, order_id: int, after_change_id: int) -> list[StatusChangeRow]:
    result = await conn.execute(
        select(*_history_columns)
        .where(history.c.order_id == order_id, history.c.id > after_change_id)
        .order_by(history.c.id)
    )
    return [StatusChangeRow(**row._mapping) for row in result]


async def erase_order(
    conn: AsyncConnection, order_id: int, email: str, address: dict[str, Any], *, had_billing_address: bool
) -> None:
    """Replace the personal data of an order (its customer's account deleted); the order stays.

    The billing address, when the order has one, is reduced like the shipping address (to the
    `address` given, which keeps only the country); the VAT number stays: it names a business and
    the invoice's tax treatment depends on it."""
    await conn.execute(
        update(orders)
        .where(orders.c.id == order_id)
        .values(
            email=email,
            email_index=None,
            shipping_address=address,
            billing_address=address if had_billing_address else None,
        )
    )


async def order_ids_of_user(conn: AsyncConnection, user_id: int) -> list[int]:
    result = await conn.execute(select(orders.c.id).where(orders.c.user_id == user_id))
    return list(result.scalars())
