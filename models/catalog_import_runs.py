"""Catalog imports uploaded over HTTP (migration 0009): the table and its reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    false,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field, SQLModel


class CatalogImport(SQLModel, table=True):
    __tablename__ = "catalog_imports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name="ck_catalog_import_status_known"
        ),
        Index("ix_catalog_imports_created_at", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    created_by: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    )
    filename: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    dry_run: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    partial: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    status: str = Field(default="queued", sa_column=Column(Text, nullable=False, server_default="queued"))
    rows_read: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


@dataclass(slots=True, frozen=True)
class ImportRunRow:
    id: int
    created_by: int | None
    filename: str
    size_bytes: int
    dry_run: bool
    partial: bool
    status: str
    rows_read: int
    report: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


runs = CatalogImport.__table__
_columns = [runs.c[name] for name in ImportRunRow.__dataclass_fields__]


async def insert_run(
    conn: AsyncConnection,
    *,
    created_by: int | None,
    filename: str,
    content: bytes,
    dry_run: bool,
    partial: bool,
) -> int:
    result = await conn.execute(
        text(
            "INSERT INTO catalog_imports (created_by, filename, content, size_bytes, dry_run, partial)"
            " VALUES (:created_by, :filename, :content, :size, :dry_run, :partial) RETURNING id"
        ),
        {
            "created_by": created_by,
            "filename": filename,
            "content": content,
            "size": len(content),
            "dry_run": dry_run,
            "partial": partial,
        },
    )
    return result.scalar_one()


async def claim_run(conn: AsyncConnection, run_id: int) -> tuple[ImportRunRow, bytes] | None:
    """The run and its file, marked running; None when it has ended already (a redelivered job)."""
    statement = (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_(("queued", "running")), runs.c.content.is_not(None))
        .values(status="running", started_at=func.now(), rows_read=0)
        .returning(*_columns, runs.c.content)
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    values = dict(row._mapping)
    content = values.pop("content")
    return ImportRunRow(**values), content


async def set_rows_read(conn: AsyncConnection, run_id: int, rows: int) -> None:
    await conn.execute(
        text("UPDATE catalog_imports SET rows_read = :rows WHERE id = :id"), {"id": run_id, "rows": rows}
    )


async def finish_run(
    conn: AsyncConnection, run_id: int, *, status: str, rows: int, report: str | None, error: str | None
) -> None:
    await conn.execute(
        text(
            "UPDATE catalog_imports SET status = :status, rows_read = :rows, report = CAST(:report AS jsonb),"
            " error = :error, finished_at = now(), content = NULL WHERE id = :id"
        ),
        {"id": run_id, "status": status, "rows": rows, "report": report, "error": error},
    )


async def run_by_id(conn: AsyncConnection, run_id: int) -> ImportRunRow | None:
    row = (await conn.execute(select(*_columns).where(runs.c.id == run_id))).first()
    return ImportRunRow(**row._mapping) if row else None


async def recent_runs(conn: AsyncConnection, limit: int = 20) -> list[ImportRunRow]:
    rows = await conn.execute(select(*_columns).order_by(runs.c.id.desc()).limit(limit))
    return [ImportRunRow(**row._mapping) for row in rows]
