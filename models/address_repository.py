"""Reads and writes of customers' saved addresses (the address book). Every function takes an
open connection; the address itself is encrypted by its column type (core.pii)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models.accounts import CustomerAddress

addresses = CustomerAddress.__table__
_DEFAULT_COLUMN = {"shipping": addresses.c.is_default_shipping, "billing": addresses.c.is_default_billing}


@dataclass(slots=True, frozen=True)
class AddressRow:
    id: int
    user_id: int
    address: dict[str, Any]
    is_default_shipping: bool
    is_default_billing: bool


_columns = tuple(addresses.c[name] for name in AddressRow.__dataclass_fields__)


def _row(row: Any) -> AddressRow:
    return AddressRow(**row._mapping)


async def addresses_of(conn: AsyncConnection, user_id: int) -> list[AddressRow]:
    statement = select(*_columns).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
    return [_row(row) for row in await conn.execute(statement)]


async def count_of(conn: AsyncConnection, user_id: int) -> int:
    statement = select(func.count()).select_from(addresses).where(addresses.c.user_id == user_id)
    return int((await conn.execute(statement)).scalar_one())


async def address_of(
    conn: AsyncConnection, user_id: int, address_id: int, *, lock: bool = False
) -> AddressRow | None:
    statement = select(*_columns).where(addresses.c.id == address_id, addresses.c.user_id == user_id)
    if lock:
        statement = statement.with_for_update()
    row = (await conn.execute(statement)).first()
    return _row(row) if row else None


async def insert_address(conn: AsyncConnection, user_id: int, address: dict[str, Any]) -> AddressRow:
    statement = insert(addresses).values(user_id=user_id, address=address).returning(*_columns)
    return _row((await conn.execute(statement)).one())


async def update_address(
    conn: AsyncConnection, user_id: int, address_id: int, address: dict[str, Any]
) -> AddressRow | None:
    statement = (
        update(addresses)
        .where(addresses.c.id == address_id, addresses.c.user_id == user_id)
        .values(address=address)
        .returning(*_columns)
    )
    row = (await conn.execute(statement)).first()
    return _row(row) if row else None


async def delete_address(conn: AsyncConnection, user_id: int, address_id: int) -> AddressRow | None:
    statement = (
        delete(addresses)
        .where(addresses.c.id == address_id, addresses.c.user_id == user_id)
        .returning(*_columns)
    )
    row = (await conn.execute(statement)).first()
    return _row(row) if row else None


async def set_default(conn: AsyncConnection, user_id: int, address_id: int, kind: str) -> AddressRow | None:
    """Make the address the user's one default of `kind` ("shipping" or "billing")."""
    column = _DEFAULT_COLUMN[kind]
    await conn.execute(
        update(addresses)
        .where(addresses.c.user_id == user_id, column.is_(True), addresses.c.id != address_id)
        .values({column.name: False})
    )
    statement = (
        update(addresses)
        .where(addresses.c.id == address_id, addresses.c.user_id == user_id)
        .values({column.name: True})
        .returning(*_columns)
    )
    row = (await conn.execute(statement)).first()
    return _row(row) if row else None


async def delete_all_of(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(addresses).where(addresses.c.user_id == user_id))
