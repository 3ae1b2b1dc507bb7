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


# One statement, run on the driver (models.compiled.fetch_sql: autocommit on a direct connection): a row
# per attempt, its window aligned on the database clock. SQLAlchemy's execution path was a third of
# its CPU, and every checkout attempt of a burst counts one (issue 18, point 4).
_COUNT_FROM = """
    INSERT INTO rate_limit_counters AS c (bucket, key, window_start, expires_at, hits)
    SELECT a.bucket, a.key, w.start, w.start + make_interval(secs => a.seconds), 1
    FROM unnest(CAST(${first} AS text[]), CAST(${second} AS bytea[]), CAST(${third} AS int[]))
        AS a(bucket, key, seconds)
    CROSS JOIN LATERAL (
        SELECT to_timestamp(floor(extract(epoch FROM now()) / a.seconds) * a.seconds) AS start
    ) AS w
    ON CONFLICT (bucket, key, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING c.bucket, c.hits,
        CAST(ceil(extract(epoch FROM c.expires_at - now())) AS integer) AS seconds_left
"""


def counting(first: int) -> str:
    """The counting upsert with its three parameters numbered from `first` ($first: the buckets,
    then the keys, then the window lengths; `arguments`), for a statement that counts attempts
    together with a read, in one round trip (`WITH counted AS (...)`). It returns one row per
    attempt: bucket, hits, seconds_left."""
    return _COUNT_FROM.format(first=first, second=first + 1, third=first + 2).strip()


_COUNT = counting(1)


def arguments(attempts: Sequence[Attempt]) -> tuple[list[str], list[bytes], list[int]]:
    """The three parameters of `counting` for these attempts."""
    return (
        [attempt.bucket for attempt in attempts],
        [attempt.key for attempt in attempts],
        [attempt.window_seconds for attempt in attempts],
    )


def counts_of(
    attempts: Sequence[Attempt], buckets: Sequence[str], hits: Sequence[int], seconds: Sequence[int]
) -> list[Count]:
    """Each attempt's count, in order, from what `counting` returned (bucket, hits, seconds_left)."""
    by_bucket = {
        bucket: Count(hits=hit, seconds_left=max(left, 1))
        for bucket, hit, left in zip(buckets, hits, seconds, strict=True)
    }
    return [by_bucket[attempt.bucket] for attempt in attempts]


async def count_attempts(conn: Reads, attempts: Sequence[Attempt]) -> list[Count]:
    """Add one attempt to each (bucket, key) in its current window; the counts including it, in order.

    One atomic upsert: concurrent attempts, from any process, each see a distinct count. It needs
    no transaction of its own (an autocommit connection is one round trip).
    Buckets must differ within one call.
    """
    rows = await fetch_sql(conn, _COUNT, *arguments(attempts))  # its own transaction
    return counts_of(attempts, [row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows])


async def delete_ended_windows(conn: AsyncConnection) -> int:
    result = await conn.execute(delete(counters).where(counters.c.expires_at <= func.now()))
    return result.rowcount


async def forget(conn: AsyncConnection, bucket: str, key: bytes) -> None:
    """Delete every window of one (bucket, key)."""
    await conn.execute(delete(counters).where(counters.c.bucket == bucket, counters.c.key == key))
