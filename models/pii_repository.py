"""Re-encryption of every encrypted column (core.pii) with the active key, found through the
column types of the tables: a table that opts in is rotated without being named here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table, Text, func, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from core.pii import ENCRYPTED_TYPES


@dataclass(slots=True, frozen=True)
class EncryptedTable:
    table: Table
    key: Column  # type: ignore[type-arg]
    columns: tuple[Column, ...]  # type: ignore[type-arg]


def encrypted_tables() -> list[EncryptedTable]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        columns = tuple(column for column in table.columns if isinstance(column.type, ENCRYPTED_TYPES))
        keys = list(table.primary_key.columns)
        if columns and len(keys) == 1:
            found.append(EncryptedTable(table=table, key=keys[0], columns=columns))
    return found


def _raw(column: Column) -> object:  # type: ignore[type-arg]
    return type_coerce(column, Text)


async def rotate_batch(
    conn: AsyncConnection, target: EncryptedTable, active: str, after: object, limit: int
) -> tuple[int, object | None]:
    """Re-encrypt up to `limit` rows after key `after` that hold a value of another key; returns how
    many rows changed and the last key looked at (None when the table is done).

    Each row is rewritten only if none of its values changed since it was read (a concurrent
    write wins; its values carry the active key already), so this runs while the shop serves.
    """
    prefix = f"v1.{active}.%"
    stale = or_(*(_raw(column).not_like(prefix) for column in target.columns))
    statement = select(target.key, *target.columns, *(_raw(c).label(f"raw_{c.name}") for c in target.columns))
    if after is not None:
        statement = statement.where(target.key > after)
    scanned = select(target.key).order_by(target.key).limit(limit)
    if after is not None:
        scanned = scanned.where(target.key > after)
    keys = list((await conn.execute(scanned)).scalars())
    if not keys:
        return 0, None
    rows = (await conn.execute(statement.where(target.key.in_(keys), stale))).all()
    changed = 0
    for row in rows:
        unchanged = [
            _raw(c) == row._mapping[f"raw_{c.name}"]
            for c in target.columns
            if row._mapping[f"raw_{c.name}"] is not None
        ]
        values = {c.name: row._mapping[c.name] for c in target.columns}
        result = await conn.execute(
            update(target.table)
            .where(target.key == row._mapping[target.key.name], *unchanged)
            .values(**values)
        )
        changed += result.rowcount
    return changed, keys[-1]


async def count_stale(conn: AsyncConnection, target: EncryptedTable, active: str) -> int:
    prefix = f"v1.{active}.%"
    stale = or_(*(_raw(column).not_like(prefix) for column in target.columns))
    statement = select(func.count()).select_from(target.table).where(stale)
    return int((await conn.execute(statement)).scalar_one())
