"""The database engine: one async SQLAlchemy engine over asyncpg per process."""

from __future__ import annotations

import logging

import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


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


def create_engine(database_url: str, *, pool_size: int = 32, max_overflow: int = 16) -> AsyncEngine:
    """Connections beyond `pool_size` are opened for a burst and closed after it.

    Opening one costs the server several milliseconds of CPU (asyncpg introspects the JSON
    types on every new connection), so the pool keeps as many as the requests a busy process
    has in flight, and the overflow is a margin.
    """
    return create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        # JSON from PostgreSQL (product images, a page's variants) is parsed by orjson.
        json_deserializer=orjson.loads,
        # Errors and SQL logs show statements without their values (cart tokens, e-mails, addresses).
        hide_parameters=True,
    )
