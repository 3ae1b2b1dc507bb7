"""Hot reads compiled once per shape and run on the driver's connection.

SQLAlchemy builds, keys and looks up a statement's compiled form on every execution, and wraps
the driver's rows in its own; for the catalog page that was a fifth of the request's CPU. A read
that takes this path is built by SQLAlchemy Core as any other, once per shape (the things that
change its SQL text), with every value that differs between calls an explicitly named
`bindparam`. Each call then only passes those values, in order, to asyncpg, which keeps the
prepared statement per connection.

This module is the one place that reads a compiled statement's parameter order and binds
(`positiontup`, `binds`: documented among SQLAlchemy's "Core Internals"); it is written for the
version in WRITTEN_FOR, and tests/test_library_internals.py fails on any other.

A read made only of compiled reads (or of single statements written in SQL, `fetch_sql`, which the
checkout's rate-limit count and pre-check run on a `Connection`'s driver) can also skip SQLAlchemy's
`Connection` (`pooled_reads`): it
takes the pool's connection itself (`AsyncEngine.raw_connection`) and runs its statements on the
driver, autocommit as asyncpg runs them outside a transaction. For the catalog page, checking a
`Connection` out of the AUTOCOMMIT engine and back in (its events set and reset the isolation
level) cost some 75-90 us of CPU more than this. Returning the connection may close it (beyond
the pool's size), which awaits inside SQLAlchemy: `sqlalchemy.util.greenlet_spawn` runs it, as
AsyncEngine itself does (not in SQLAlchemy's documented API, hence the version pin here too).
Only the catalog page uses it: taking the checkout's single statements on the pool's own
connection made a storefront's day with orders slower in every A/B pair (README, issue 18's
fourth pass), so they run on a `Connection`'s driver.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from core.db import BEHIND_POOLER, driver_of

WRITTEN_FOR = {"sqlalchemy": "2.1.9"}
_MAX_SHAPES = 512


@dataclass(frozen=True, slots=True)
class CompiledRead:
    sql: str
    parameters: tuple[str, ...]  # bind parameter names, in the order of $1, $2, ...
    constants: Mapping[str, Any]  # values of the parameters the call does not pass


_compiled: dict[Hashable, CompiledRead] = {}


@dataclass(frozen=True, slots=True)
class PooledDriver:
    """A pooled connection's driver connection, checked out without SQLAlchemy's `Connection`."""

    dialect: Dialect
    driver: Any  # the asyncpg connection


Reads = AsyncConnection | PooledDriver


@contextlib.asynccontextmanager
async def pooled_reads(engine: AsyncEngine) -> AsyncIterator[Reads]:
    """A connection for compiled reads (`compiled_read`, `fetch`) and single statements
    (`fetch_sql`) only, each its own transaction (autocommit).

    Behind a transaction pooler a plain `engine.connect()`: there every statement needs its
    transaction (core.db.driver_of)."""
    if engine.get_execution_options().get(BEHIND_POOLER):
        async with engine.connect() as conn:
            yield conn
        return
    raw = await engine.raw_connection()
    try:
        yield PooledDriver(engine.dialect, raw.driver_connection)
    except BaseException:
        if raw.driver_connection is None or raw.driver_connection.is_closed():
            raw.invalidate()  # as SQLAlchemy does on a lost connection: the pool opens another
        raise
    finally:
        # Returning it may close it (beyond the pool's size), which awaits the driver inside.
        await greenlet_spawn(raw.close)


def compiled_read(
    conn: Reads, shape: Hashable, build: Callable[[], Executable], passed: Sequence[str]
) -> CompiledRead:
    """The compiled form of the read of `shape`, which `build` makes on first use.

    `passed` names the parameters every call passes; any other parameter of the statement must
    be a constant of the shape (such as the 0 of a `coalesce`), or the read would reuse a value
    of the first call.
    """
    found = _compiled.get(shape)
    if found is None:
        compiled = build().compile(dialect=conn.dialect)
        if compiled.positiontup is None or "POSTCOMPILE" in compiled.string:
            raise ValueError("a compiled read needs positional parameters, and no expanding IN")
        constants = {}
        for name in compiled.positiontup:
            if name not in passed:
                bind = compiled.binds[name]
                if bind.required:
                    raise ValueError(f"the read's parameter {name!r} is neither passed nor a constant")
                constants[name] = bind.effective_value
        found = CompiledRead(compiled.string, tuple(compiled.positiontup), constants)
        if len(_compiled) >= _MAX_SHAPES:
            _compiled.clear()
        _compiled[shape] = found
    return found


async def fetch(conn: Reads, read: CompiledRead, values: Mapping[str, Any]) -> list[Any]:
    """The rows (asyncpg records, read by column name) of `read` with the passed `values`."""
    arguments = [values[name] if name in values else read.constants[name] for name in read.parameters]
    return await fetch_sql(conn, read.sql, *arguments)


async def fetch_sql(conn: Reads, sql: str, *arguments: Any) -> list[Any]:
    """The rows of one statement written in SQL ($1, $2, ...) on the driver of `conn`: a
    `Connection` (`driver_of`, in its transaction if it has one), or the pool's own connection
    (`pooled_reads`, where each statement is its own transaction)."""
    if type(conn) is PooledDriver:
        return await conn.driver.fetch(sql, *arguments)
    async with driver_of(conn) as driver:
        return await driver.fetch(sql, *arguments)
