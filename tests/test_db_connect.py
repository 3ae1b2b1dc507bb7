"""core.db: a new connection looks up, before its first use, every array type that our statements and
pgqueuer's enqueue bind or return, so that no request pays asyncpg's look-up (three statements: JIT
off, the catalogue query, JIT back) and statement counts do not depend on which connection a request
gets. tests/conftest.py's `serving_for_the_test` checks the same for every served test."""

from __future__ import annotations

import asyncio
import gc
import weakref

from core.db import ARRAY_TYPES, create_engine, driver_of, read_engine_of
from tests.support import TypeLookups


async def test_a_new_connection_binds_and_reads_every_array_type_without_a_look_up(
    database_url: str, behind_pooler: bool
) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0, behind_pooler=behind_pooler)
    lookups = TypeLookups()
    lookups.watch(engine)
    casts = ", ".join(f"CAST(${n} AS {name}[])" for n, name in enumerate(ARRAY_TYPES, start=1))
    try:
        async with engine.connect() as conn, driver_of(conn) as driver:
            assert list(await driver.fetchrow(f"SELECT {casts}", *[None] * len(ARRAY_TYPES))) == [None] * len(
                ARRAY_TYPES
            )
            await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after, not at once
            assert lookups.types == []

            await driver.fetchrow("SELECT CAST($1 AS uuid[])", None)  # a type outside the list
            await asyncio.sleep(0.05)
            assert lookups.types != []  # is looked up, and the watch sees it
    finally:
        await engine.dispose()


def test_the_autocommit_engine_is_made_once_per_engine_while_it_is_held() -> None:
    """core.db.read_engine_of: one AUTOCOMMIT engine per engine (making one per request cost some
    50 us), kept only while something holds it; behind a pooler, the engine itself."""
    url = "postgresql://app@localhost/shop"
    engine, other = create_engine(url), create_engine(url)
    reads = read_engine_of(engine)
    assert read_engine_of(engine) is reads
    assert reads.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    assert read_engine_of(other) is not reads
    held = weakref.ref(reads)
    del reads
    gc.collect()
    assert held() is None, "nothing held it, yet it was kept"
    pooled = create_engine(url, behind_pooler=True)
    assert read_engine_of(pooled) is pooled
