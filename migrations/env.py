"""Alembic environment: async, over the same engine settings as the server."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import create_engine

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, compare_type=True, compare_server_default=True
    )
    with context.begin_transaction():
        # Servers starting together take turns: the first migrates, the others find it done.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('alembic-migrations'))"))
        context.run_migrations()


async def _run_async(url: str) -> None:
    # Pooler-safe whatever the URL (no cached or named prepared statements, as behind PgBouncer in
    # transaction mode): `migrate` and `serve` migrate over DATABASE_URL, which may be the pooler,
    # and a migration's few statements gain nothing from a statement cache. The whole run is one
    # transaction, so it holds one server connection throughout.
    engine = create_engine(url, pool_size=1, behind_pooler=True)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to alembic")
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
