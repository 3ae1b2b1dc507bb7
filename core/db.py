"""The database engine: one async SQLAlchemy engine over asyncpg per process."""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from core.metrics import InstrumentedPool

# An engine option marking an engine whose connections go through a pooler in transaction mode.
BEHIND_POOLER = "storefront_behind_pooler"


def async_url(database_url: str) -> str:
    """Turn a plain `postgresql://` URL into the asyncpg dialect's URL."""
    url = make_url(database_url)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class _NoResultRows(logging.Filter):
    """Drops the result rows SQLAlchemy echoes at DEBUG: they hold cart tokens, hashes and addresses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


_ENGINE_LOGGER = logging.getLogger("sqlalchemy.engine.Engine")
_ENGINE_LOGGER.addFilter(_NoResultRows())


def create_engine(
    database_url: str, *, pool_size: int = 32, max_overflow: int = 16, behind_pooler: bool = False
) -> AsyncEngine:
    """Connections beyond `pool_size` are opened for a burst and closed after it.

    Opening one costs the server several milliseconds of CPU (asyncpg introspects the JSON
    types on every new connection), so the pool keeps as many as the requests a busy process
    has in flight, and the overflow is a margin.

    `behind_pooler`: the URL is a pooler in transaction mode (PgBouncer 1.18 as Debian bookworm
    ships it tracks no prepared statements, so a statement prepared on one server connection is
    unknown on the next). Then no statement is cached or named (asyncpg's `statement_cache_size=0`,
    SQLAlchemy's `prepared_statement_cache_size=0`, the unnamed statement), and every statement
    runs inside a transaction (see `read_engine_of`, `driver_of`), which keeps its parse
    and its execution on one server connection.
    """
    connect_args: dict[str, Any] = {}
    if behind_pooler:
        connect_args = {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unnamed,
        }
    engine = create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        # JSON from PostgreSQL (product images, a page's variants) is parsed by orjson.
        json_deserializer=orjson.loads,
        # Errors and SQL logs show statements without their values (cart tokens, e-mails, addresses).
        hide_parameters=True,
        connect_args=connect_args,
        poolclass=InstrumentedPool,  # counts the checkouts waiting (core/metrics.py)
        execution_options={BEHIND_POOLER: behind_pooler},
    )
    event.listen(engine.sync_engine, "connect", _look_up_array_types)
    return engine


# The array types that our statements and pgqueuer's enqueue bind or return. asyncpg decodes the
# scalar types itself but looks each array type up in PostgreSQL's catalogue the first time a
# connection meets it: three statements (JIT off, the look-up, JIT back) inside whichever request
# comes first. A new connection looks them all up at once, before any request uses it
# (tests/conftest.py's `serving_for_the_test` fails a test in which a request still looks one up).
ARRAY_TYPES = ("bigint", "integer", "boolean", "text", "varchar", "bytea", "interval", "jsonb", "timestamptz")
_ARRAYS = "SELECT " + ", ".join(f"NULL::{name}[]" for name in ARRAY_TYPES)


def _look_up_array_types(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.run_async(_fetch_arrays)


async def _fetch_arrays(driver: Any) -> None:
    # In a transaction: behind a pooler, the statement's parse and execution stay on one server connection.
    async with driver.transaction():
        await driver.fetchrow(_ARRAYS)


def _unnamed() -> str:
    return ""


# The AUTOCOMMIT engine of each engine, while something holds it (the app's state does): making
# one costs some 50 us, too much for a request.
_autocommit: weakref.WeakValueDictionary[int, AsyncEngine] = weakref.WeakValueDictionary()


def read_engine_of(engine: AsyncEngine) -> AsyncEngine:
    """The engine of plain reads and of single-statement writes (a statement is its own
    transaction): AUTOCOMMIT (no BEGIN/COMMIT round trips) on a direct connection; behind a
    transaction pooler the engine itself, so that each of them is one transaction."""
    if engine.get_execution_options().get(BEHIND_POOLER):
        return engine
    # Keyed by the engine's identity: the AUTOCOMMIT engine holds the engine, so the id stays its own.
    found = _autocommit.get(id(engine))
    if found is None:
        found = _autocommit[id(engine)] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


@contextlib.asynccontextmanager
async def driver_of(conn: AsyncConnection) -> AsyncIterator[Any]:
    """The asyncpg connection under `conn`; behind a transaction pooler, inside a transaction."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if conn.in_transaction() and not driver.is_in_transaction():
        # SQLAlchemy begins the driver's transaction lazily, at the first statement: begin it now,
        # so that what is written through the driver (a job) commits or rolls back with the caller's.
        await conn.exec_driver_sql("SELECT 1")
    if conn.sync_connection.get_execution_options().get(BEHIND_POOLER) and not driver.is_in_transaction():
        async with driver.transaction():
            yield driver
    else:
        yield driver
