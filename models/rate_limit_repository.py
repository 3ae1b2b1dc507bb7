"""Counting attempts against rate limits. Every function takes an open connection.

Windows are fixed and aligned on the database clock, so every server process, on any host,
counts into the same window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncConnection

from models.compiled import Reads, fetch_sql
from models.rate_limits import RateLimitCounter

counters = RateLimitCounter.__table__


@dataclass(slots=True, frozen=True)
class Attempt:
    bucket: str
    key: bytes
    window_seconds: int


@dataclass(slots=True, frozen=True)
class Count:
    hits: int
    seconds_left: int


# One statement, run on the driver (models.compiled.fetch_sql, on the pool's own connection): a row
# per attempt, its window aligned on the database clock. SQLAlchemy's execution path was a third of
# its CPU, and every checkout attempt of a burst counts one (issue 18, point 4).
_COUNT = """
    INSERT INTO rate_limit_counters AS c (bucket, key, window_start, expires_at, hits)
    SELECT a.bucket, a.key, w.start, w.start + make_interval(secs => a.seconds), 1
    FROM unnest(CAST($1 AS text[]), CAST($2 AS bytea[]), CAST($3 AS int[]))
        AS a(bucket, key, seconds)
    CROSS JOIN LATERAL (
        SELECT to_timestamp(floor(extract(epoch FROM now()) / a.seconds) * a.seconds) AS start
    ) AS w
    ON CONFLICT (bucket, key, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING c.bucket, c.hits, CAST(ceil(extract(epoch FROM c.expires_at - now())) AS integer)
"""


async def count_attempts(conn: Reads, attempts: Sequence[Attempt]) -> list[Count]:
    """Add one attempt to each (bucket, key) in its current window; the counts including it, in order.

    One atomic upsert: concurrent attempts, from any process, each see a distinct count. It needs
    no transaction of its own (an autocommit connection is one round trip).
    Buckets must differ within one call.
    """
    buckets = [attempt.bucket for attempt in attempts]
    keys = [attempt.key for attempt in attempts]
    seconds = [attempt.window_seconds for attempt in attempts]
    rows = await fetch_sql(conn, _COUNT, buckets, keys, seconds)  # its own transaction
    by_bucket = {row[0]: Count(hits=row[1], seconds_left=max(row[2], 1)) for row in rows}
    return [by_bucket[attempt.bucket] for attempt in attempts]


async def delete_ended_windows(conn: AsyncConnection) -> int:
    result = await conn.execute(delete(counters).where(counters.c.expires_at <= func.now()))
    return result.rowcount


async def forget(conn: AsyncConnection, bucket: str, key: bytes) -> None:
    """Delete every window of one (bucket, key)."""
    await conn.execute(delete(counters).where(counters.c.bucket == bucket, counters.c.key == key))
