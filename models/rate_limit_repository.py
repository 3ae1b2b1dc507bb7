"""Counting attempts against rate limits. Every function takes an open connection.

Windows are fixed and aligned on the database clock, so every server process, on any host,
counts into the same window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, cast, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def count_attempts(conn: AsyncConnection, attempts: Sequence[Attempt]) -> list[Count]:
    """Add one attempt to each (bucket, key) in its current window; the counts including it, in order.

    One atomic upsert: concurrent attempts, from any process, each see a distinct count.
    Buckets must differ within one call.
    """
    rows = []
    for attempt in attempts:
        seconds = attempt.window_seconds
        window_start = func.to_timestamp(func.floor(func.extract("epoch", func.now()) / seconds) * seconds)
        rows.append(
            {
                "bucket": attempt.bucket,
                "key": attempt.key,
                "window_start": window_start,
                "expires_at": window_start + func.make_interval(0, 0, 0, 0, 0, 0, seconds),
                "hits": 1,
            }
        )
    statement = insert(counters).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[counters.c.bucket, counters.c.key, counters.c.window_start],
        set_={"hits": counters.c.hits + 1},
    ).returning(
        counters.c.bucket,
        counters.c.hits,
        cast(func.ceil(func.extract("epoch", counters.c.expires_at - func.now())), Integer),
    )
    by_bucket = {
        row[0]: Count(hits=row[1], seconds_left=max(row[2], 1)) for row in await conn.execute(statement)
    }
    return [by_bucket[attempt.bucket] for attempt in attempts]


async def delete_ended_windows(conn: AsyncConnection) -> int:
    result = await conn.execute(delete(counters).where(counters.c.expires_at <= func.now()))
    return result.rowcount


async def forget(conn: AsyncConnection, bucket: str, key: bytes) -> None:
    """Delete every window of one (bucket, key)."""
    await conn.execute(delete(counters).where(counters.c.bucket == bucket, counters.c.key == key))
