"""The application behind a real PgBouncer in transaction mode (Debian's 1.18, which tracks no
prepared statements): what breaks without care, and that our engine does not break.

Every test that reaches the test database also runs through PgBouncer
in CI (`scripts/test`'s second pass, `--database-via=pgbouncer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import make_url

from core.db import create_engine, driver_of, read_engine_of
from core.settings import Settings
from models.compiled import compiled_read, fetch
from tests.support import running_pgbouncer


@pytest.fixture(scope="module")
def pgbouncer(server_url: str) -> Iterator[str]:
    with running_pgbouncer(server_url) as url:
        yield url


def _pooled(pgbouncer: str, database_url: str) -> str:
    return make_url(pgbouncer).set(database=make_url(database_url).database).render_as_string(False)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_a_cached_prepared_statement_breaks_behind_a_transaction_pooler(
    pgbouncer: str, direct_database_url: str
) -> None:
    """The control: asyncpg's default statement cache, through PgBouncer, fails as soon as the
    next statement lands on another server connection."""
    url = _dsn(_pooled(pgbouncer, direct_database_url))
    first, second = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        assert await first.fetchval("SELECT $1::int + 40", 2) == 42  # prepared on server connection S1
        holding = second.transaction()
        await holding.start()
        await second.execute("SELECT 1")  # `second` holds S1 now
        with pytest.raises(asyncpg.exceptions.InvalidSQLStatementNameError):
            await first.fetchval("SELECT $1::int + 40", 2)  # the cached statement, on S2
        await holding.rollback()
    finally:
        await first.close()
        await second.close()


async def test_the_engine_behind_a_pooler_survives_concurrent_reads_and_writes(
    pgbouncer: str, direct_database_url: str
) -> None:
    pooled = _pooled(pgbouncer, direct_database_url)
    settings = Settings(_env_file=None, database_url=pooled, database_listen_url=direct_database_url)  # type: ignore[call-arg]
    assert settings.behind_pooler(pooled)
    engine = create_engine(pooled, pool_size=12, behind_pooler=True)
    reads = read_engine_of(engine)
    assert reads is engine, "behind a pooler, reads run in transactions"

    async def one(worker: int) -> None:
        for round_ in range(15):
            async with reads.connect() as conn:
                value = (await conn.execute(text("SELECT CAST(:n AS int) * 2"), {"n": worker})).scalar()
                assert value == worker * 2
                read = compiled_read(
                    conn,
                    "pgbouncer-test",
                    lambda: (
                        select(text("id"))
                        .select_from(text("products"))
                        .where(text("id >= :floor").bindparams(bindparam("floor")))
                        .limit(1)
                    ),
                    ("floor",),
                )
                rows = await fetch(conn, read, {"floor": round_})
                assert rows
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE products SET name = name WHERE id = :id"), {"id": worker + 1})
                async with driver_of(conn) as driver:
                    assert driver.is_in_transaction()
                    assert await driver.fetchval("SELECT $1::int", worker) == worker

    # Another client keeps taking server connections meanwhile, so statements change server.
    holder = await asyncpg.connect(_dsn(pooled), statement_cache_size=0)

    async def churn() -> None:
        for _ in range(30):
            async with holder.transaction():
                await holder.execute("SELECT pg_sleep(0.005)")

    try:
        await asyncio.gather(churn(), *(one(worker) for worker in range(12)))
    finally:
        await holder.close()
        await engine.dispose()


def test_the_pooler_switch() -> None:
    direct, pooled = "postgresql://db:5432/shop", "postgresql://pooler:6432/shop"
    plain = Settings(_env_file=None, database_url=direct)  # type: ignore[call-arg]
    assert not plain.behind_pooler(direct) and plain.listen_url(direct) == direct
    split = Settings(_env_file=None, database_url=pooled, database_listen_url=direct)  # type: ignore[call-arg]
    assert split.behind_pooler(pooled) and split.listen_url(pooled) == direct
    forced = Settings(_env_file=None, database_url=pooled, database_pooler="on")  # type: ignore[call-arg]
    assert forced.behind_pooler(pooled)
    off = Settings(_env_file=None, database_url=pooled, database_listen_url=direct, database_pooler="off")  # type: ignore[call-arg]
    assert not off.behind_pooler(pooled)
