"""models.compiled.pooled_reads: the pool's own connection for compiled reads (the catalog's JSON
page), returned to the pool, closed beyond its size, and replaced when it was lost."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import Integer, bindparam, select

from core.db import create_engine, read_engine_of
from models.compiled import compiled_read, fetch, pooled_reads


def _echo() -> object:
    return select(bindparam("value", type_=Integer).label("value"))


async def test_connections_go_back_to_the_pool_and_the_overflow_is_closed(
    database_url: str, behind_pooler: bool
) -> None:
    engine = read_engine_of(
        create_engine(database_url, pool_size=1, max_overflow=2, behind_pooler=behind_pooler)
    )
    pool = engine.sync_engine.pool
    both = asyncio.Event()
    drivers = []
    try:

        async def read(value: int) -> int:
            async with pooled_reads(engine) as conn:
                rows = await fetch(conn, compiled_read(conn, "echo", _echo, ["value"]), {"value": value})
                drivers.append(conn)
                if pool.checkedout() == 3:
                    both.set()
                await asyncio.wait_for(both.wait(), 10)  # all three out at once: two beyond the pool
                return rows[0]["value"]

        assert await asyncio.gather(read(1), read(2), read(3)) == [1, 2, 3]
        assert pool.checkedout() == 0
        assert pool.checkedin() == 1
        if not behind_pooler:  # the two overflow connections were closed, not left open
            assert sorted(conn.driver.is_closed() for conn in drivers) == [False, True, True]  # type: ignore[union-attr]
    finally:
        await engine.dispose()


async def test_a_lost_connection_is_replaced(database_url: str, behind_pooler: bool) -> None:
    if behind_pooler:
        pytest.skip("behind the pooler it is SQLAlchemy's own Connection")
    engine = read_engine_of(create_engine(database_url, pool_size=1, max_overflow=0))
    try:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
            async with pooled_reads(engine) as conn:
                await fetch(
                    conn,
                    compiled_read(
                        conn, "terminate", lambda: select(bindparam("value", type_=Integer)), ["value"]
                    ),
                    {"value": 1},
                )
                await conn.driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")  # type: ignore[union-attr]
        async with pooled_reads(engine) as conn:
            rows = await fetch(conn, compiled_read(conn, "echo", _echo, ["value"]), {"value": 7})
        assert rows[0]["value"] == 7
    finally:
        await engine.dispose()
