"""Test harness: a real PostgreSQL, a migrated and seeded template, one cloned database per test,
and the real application served by uvicorn on loopback.

With TEST_DATABASE_URL set (a `postgresql://` URL with the right to create databases), the
suite uses that server; otherwise it starts the embedded server once per test session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from core.migrations import upgrade_to_head
from core.settings import Settings
from main import create_app, seed_demo_catalog
from tests.shop import serve
from tests.stripe_stub import WEBHOOK_SECRET, StripeStub
from tests.support import RunningServer, StatementCounter, start_server

TEMPLATE_PRODUCTS = 320


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of the maintenance database of a PostgreSQL server we may create databases on."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    from core.embedded import start_embedded_postgres, stop_embedded_postgres

    data_dir = Path(tempfile.mkdtemp(prefix="storefront-test-pg-"))
    try:
        yield start_embedded_postgres(data_dir, "postgres", delete_on_exit=True)
    finally:
        stop_embedded_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """A database migrated to head and loaded with the demo catalog, cloned by every test."""
    name = f"storefront_template_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    upgrade_to_head(url)
    asyncio.run(seed_demo_catalog(url, TEMPLATE_PRODUCTS, only_if_empty=False))
    yield name
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    name = f"storefront_test_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield _with_database(server_url, name)
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        data_dir=tmp_path / "data",
        bcrypt_rounds=4,
        stripe_webhook_secret=WEBHOOK_SECRET,
        payment_sandbox="on",  # DATABASE_URL is set: the sandbox must be asked for
    )


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The real application, served over HTTP and WebSocket on a loopback port."""
    app = create_app(settings)
    uvicorn_server, task, url = await start_server(app)
    yield RunningServer(app, url)
    uvicorn_server.should_exit = True
    await task


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def sql_statements(server: RunningServer) -> Iterator[StatementCounter]:
    """Every SQL statement the application sends to the database, in order."""
    counter = StatementCounter()
    engine = server.app.state.engine.sync_engine

    # Reads compiled once (models.compiled) go to asyncpg directly, past SQLAlchemy's events:
    # asyncpg's query logger reports those (and not SQLAlchemy's prepared statements).
    def log_driver_queries(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(counter.driver_query)

    event.listen(engine, "before_cursor_execute", counter)
    event.listen(engine.pool, "checkout", log_driver_queries)
    yield counter
    event.remove(engine.pool, "checkout", log_driver_queries)
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
async def stripe_stub() -> AsyncIterator[tuple[StripeStub, str]]:
    stub = StripeStub()
    server, task, url = await start_server(stub.app())
    yield stub, url
    server.should_exit = True
    await task


@pytest.fixture
async def stripe_settings(settings: Settings, stripe_stub: tuple[StripeStub, str]) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": "sk_test_stub_key",
            "payment_sandbox": "auto",
            "stripe_api_base": stripe_stub[1],
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "storefront_url": "https://shop.example.test",
        }
    )


@pytest.fixture
async def shop(stripe_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application configured for Stripe (the stub), over HTTP."""
    running, server, task = await serve(stripe_settings)
    async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
        yield client
    server.should_exit = True
    await task
