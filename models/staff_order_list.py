"""The staff's list of all orders: filtered by status, e-mail, number and date, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core import pii
from models.order_repository import OrderRow, _order, _order_columns, orders


@dataclass(slots=True, frozen=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    search: str | None = None  # an order number, or the whole e-mail address
    created_from: datetime | None = None
    created_to: datetime | None = None


def _filtered(statement: Select, where: OrderFilter) -> Select:
    if where.statuses:
        statement = statement.where(orders.c.status.in_(where.statuses))
    if where.search:
        term = where.search.strip()
        # E-mails are encrypted at rest (core.pii): a whole address is found by its blind index,
        # as checkout's per-e-mail limits find it; a part of one cannot be searched.
        conditions = [orders.c.email_index == pii.blind_index(term.lower())]
        if term.isdigit() and len(term) < 19:
            conditions.append(orders.c.number == int(term))
        statement = statement.where(or_(*conditions))
    if where.created_from is not None:
        statement = statement.where(orders.c.created_at >= where.created_from)
    if where.created_to is not None:
        statement = statement.where(orders.c.created_at < where.created_to)
    return statement


async def staff_orders(conn: AsyncConnection, where: OrderFilter, offset: int, limit: int) -> list[OrderRow]:
    statement = _filtered(select(*_order_columns), where)
    statement = statement.order_by(orders.c.created_at.desc(), orders.c.id.desc()).offset(offset).limit(limit)
    return [_order(row) for row in await conn.execute(statement)]


async def count_staff_orders(conn: AsyncConnection, where: OrderFilter) -> int:
    statement = _filtered(select(func.count()).select_from(orders), where)
    return (await conn.execute(statement)).scalar_one()


async def orders_by_numbers(conn: AsyncConnection, numbers: Sequence[int]) -> list[OrderRow]:
    return [
        _order(row) for row in await conn.execute(select(*_order_columns).where(orders.c.number.in_(numbers)))
    ]
