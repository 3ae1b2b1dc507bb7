"""The job queue (pgqueuer, on our own PostgreSQL): enqueue inside the caller's transaction.

This is the one adapter between our code and pgqueuer's enqueue and failed-job API. A job that
follows from a change is written on the very connection (and so in the very transaction) that
makes the change: it exists if and only if the change commits (a transactional outbox without a
relay). pgqueuer's table trigger notifies the workers, which PostgreSQL delivers at commit.

Payloads are small JSON objects (ids, never personal data); handlers read the rest anew.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import driver_of


@contextlib.asynccontextmanager
async def _queries(conn: AsyncConnection) -> AsyncIterator[Queries]:
    """pgqueuer's queries on the asyncpg connection under `conn` (its transaction included)."""
    async with driver_of(conn) as driver:
        yield Queries(AsyncpgDriver(driver))


async def enqueue(
    conn: AsyncConnection,
    task: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
) -> int | None:
    """Enqueue `task` in the caller's transaction; returns the job id, None when `dedupe_key`
    names a job already waiting or running (that job will do the work)."""
    async with _queries(conn) as queries:
        ids = await queries.enqueue(
            task, orjson.dumps(payload), 0, delay, dedupe_key, None, on_conflict="skip"
        )
    return ids[0]


def payload_of(raw: bytes | None) -> dict[str, Any]:
    data = orjson.loads(raw) if raw else {}
    return data if isinstance(data, dict) else {}


@dataclass(slots=True, frozen=True)
class FailedJob:
    id: int
    task: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    failed_at: datetime
    error: str | None


# Failed jobs are held in pgqueuer's queue table (status 'failed'); their last error is the
# traceback record pgqueuer logged for them. Read here, in the adapter, and nowhere else.
_FAILED = text(
    """
    SELECT q.id, q.entrypoint, q.payload, q.attempts, q.created, q.updated,
           l.traceback ->> 'exception_type' AS error_type,
           l.traceback ->> 'exception_message' AS error_message
    FROM pgqueuer q
    LEFT JOIN LATERAL (
        SELECT traceback FROM pgqueuer_log
        WHERE job_id = q.id AND traceback IS NOT NULL ORDER BY created DESC, id DESC LIMIT 1
    ) l ON true
    WHERE q.status = 'failed' AND (CAST(:after AS bigint) IS NULL OR q.id < :after)
    ORDER BY q.id DESC
    LIMIT :limit
    """
)
_FAILED_COUNT = text("SELECT count(*) FROM pgqueuer WHERE status = 'failed'")
MAX_ERROR_LENGTH = 1_000


async def failed_jobs(conn: AsyncConnection, *, limit: int, before_id: int | None) -> list[FailedJob]:
    """Failed jobs, newest first, `limit` of them older than `before_id` (keyset paging)."""
    rows = await conn.execute(_FAILED, {"after": before_id, "limit": limit})
    return [
        FailedJob(
            id=row.id,
            task=row.entrypoint,
            payload=payload_of(row.payload),
            attempts=row.attempts,
            created_at=row.created,
            failed_at=row.updated,
            error=_error(row.error_type, row.error_message),
        )
        for row in rows
    ]


async def count_failed_jobs(conn: AsyncConnection) -> int:
    return (await conn.execute(_FAILED_COUNT)).scalar_one()


def _error(kind: str | None, message: str | None) -> str | None:
    if not kind and not message:
        return None
    return f"{kind}: {message}"[:MAX_ERROR_LENGTH] if message else kind


async def retry_failed_job(conn: AsyncConnection, job_id: int) -> bool:
    """Queue a failed job again (attempts start over); False when no failed job has that id."""
    found = await conn.execute(
        text("SELECT 1 FROM pgqueuer WHERE id = :id AND status = 'failed' FOR UPDATE"), {"id": job_id}
    )
    if found.first() is None:
        return False
    async with _queries(conn) as queries:
        await queries.requeue_jobs([job_id])  # type: ignore[list-item]
    return True
