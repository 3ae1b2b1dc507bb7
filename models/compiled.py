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
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from core.db import driver_of

WRITTEN_FOR = {"sqlalchemy": "2.1.9"}
_MAX_SHAPES = 512


@dataclass(frozen=True, slots=True)
class CompiledRead:
    sql: str
    parameters: tuple[str, ...]  # bind parameter names, in the order of $1, $2, ...
    constants: Mapping[str, Any]  # values of the parameters the call does not pass


_compiled: dict[Hashable, CompiledRead] = {}


def compiled_read(
    conn: AsyncConnection, shape: Hashable, build: Callable[[], Executable], passed: Sequence[str]
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


async def fetch(conn: AsyncConnection, read: CompiledRead, values: Mapping[str, Any]) -> list[Any]:
    """The rows (asyncpg records, read by column name) of `read` with the passed `values`."""
    arguments = [values[name] if name in values else read.constants[name] for name in read.parameters]
    async with driver_of(conn) as driver:
        return await driver.fetch(read.sql, *arguments)
