"""Test harness: a real PostgreSQL, a migrated and seeded template, one cloned database per test,
and the real application served by uvicorn on loopback.

With TEST_DATABASE_URL set (a `postgresql://` URL with the right to create databases), the
suite uses that server; otherwise it starts the embedded server once per test session.

With TEST_DATABASE_VIA=pgbouncer (or `--database-via=pgbouncer`), every test database is reached
through a real PgBouncer in transaction mode (tests.support.running_pgbouncer), as behind Neon,
Supabase or RDS Proxy: the application's DATABASE_URL is the pooled one, DATABASE_LISTEN_URL the
direct one (LISTEN and the job queue), and so is what the tests read and write with `sql()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.factory import create_app
from core.migrations import upgrade_to_head
from core.settings import Settings
from demo.load import seed_demo_catalog
from tests import support
from tests.stripe_stub import WEBHOOK_SECRET, StripeStub
from tests.support import (
    RunningServer,
    StatementCounter,
    TypeLookups,
    running_pgbouncer,
    served,
    start_server,
)

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
        url = start_embedded_postgres(data_dir, "postgres", delete_on_exit=True)
        # A throwaway server: nothing it holds must survive a crash, so no waiting for the disk.
        asyncio.run(_admin(url, *(f"ALTER SYSTEM SET {name} = off" for name in NOT_DURABLE)))
        asyncio.run(_admin(url, "SELECT pg_reload_conf()"))
        yield url
    finally:
        stop_embedded_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


NOT_DURABLE = ("fsync", "synchronous_commit", "full_page_writes")


async def _admin(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-via",
        choices=("direct", "pgbouncer"),
        default=os.environ.get("TEST_DATABASE_VIA") or "direct",
        help="reach the test databases directly or through PgBouncer in transaction mode "
        "(default: TEST_DATABASE_VIA, else direct)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The engines tests make on the test databases (support.own_engine) are the pooler's kind.
    support.THROUGH_POOLER = config.getoption("--database-via") == "pgbouncer"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Through PgBouncer, the tests that reach the test database (`database_url`, and so
    `settings`, `server`, `client`, ...) run; the others would run exactly as they did directly
    (they start their own embedded PostgreSQL, or reach none), and so do the few marked
    `@pytest.mark.direct_database(reason=...)`, which need a direct connection by their nature."""
    if config.getoption("--database-via") != "pgbouncer":
        return
    keep: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        pooled = "database_url" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "direct_database"
        )
        (keep if pooled else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep


@pytest.fixture(scope="session")
def pooled_server_url(request: pytest.FixtureRequest, server_url: str) -> Iterator[str | None]:
    """`server_url` through PgBouncer in transaction mode when the run asks for it, else None."""
    if request.config.getoption("--database-via") != "pgbouncer":
        yield None
        return
    with running_pgbouncer(server_url) as url:
        yield url


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


class Clones:
    """Databases cloned from the template one test ahead, and put away after the test.

    The next test's clone is made while the current test runs, and a finished test's server
    is stopped and its database dropped while the next one runs (the event loop is mostly
    idle in between). Every piece of work put off is awaited, and its failure raised, at the
    end of the session.
    """

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._next: asyncio.Task[str] | None = None
        self._later: set[asyncio.Task[None]] = set()
        self._stopping: dict[str, list[asyncio.Task[None]]] = {}
        self._failures: list[BaseException] = []

    async def _clone(self) -> str:
        name = f"storefront_test_{uuid.uuid4().hex[:12]}"
        await _admin(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    async def take(self) -> str:
        ahead, self._next = self._next, None
        try:
            name = await (ahead or self._clone())
        except Exception:
            # A clone made ahead that failed (a timeout on a loaded machine) fails no later test:
            # this test gets a clone of its own, and the next one is made ahead again.
            name = await self._clone()
        self._next = asyncio.create_task(self._clone())
        return name

    def later(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run `work` in the background; its failure fails the session."""

        async def run() -> None:
            try:
                await work
            except BaseException as error:
                self._failures.append(error)

        task = asyncio.create_task(run())
        self._later.add(task)
        task.add_done_callback(self._later.discard)
        return task

    def stop_later(self, server: uvicorn.Server, serving: asyncio.Task[None], database_url: str) -> None:
        """Stop a test's server in the background; its database is dropped after it stopped."""
        server.should_exit = True
        self._stopping.setdefault(database_url, []).append(self.later(serving))

    def drop_later(self, name: str, database_url: str | None = None) -> None:
        stopping = self._stopping.pop(database_url, []) if database_url else []

        async def drop() -> None:
            await asyncio.gather(*stopping)
            try:
                await _admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except (TimeoutError, OSError) as error:
                # Clean-up only (the session's PostgreSQL goes with its databases): a connection
                # that timed out on a loaded machine fails no test. A stopped server still does.
                print(f"conftest: could not drop {name}: {error!r}", file=sys.stderr)

        self.later(drop())

    async def close(self) -> None:
        if self._next is not None:
            self.drop_later(await self._next)
        while self._later:
            await asyncio.gather(*self._later)
        if self._failures:
            raise self._failures[0]


@pytest.fixture(scope="session")
async def clones(server_url: str, template_database: str) -> AsyncIterator[Clones]:
    pool = Clones(server_url, template_database)
    yield pool
    await pool.close()


@pytest.fixture
async def database_url(server_url: str, pooled_server_url: str | None, clones: Clones) -> AsyncIterator[str]:
    """The test's own database: through PgBouncer when the run goes through it."""
    name = await clones.take()
    url = _with_database(pooled_server_url or server_url, name)
    yield url
    clones.drop_later(name, url)


@pytest.fixture
def direct_database_url(database_url: str, server_url: str) -> str:
    """The test's database on a direct connection (for LISTEN), whatever `database_url` goes through."""
    return _with_database(server_url, make_url(database_url).database or "")


@pytest.fixture
def behind_pooler(pooled_server_url: str | None) -> bool:
    """Whether `database_url` is PgBouncer's: an engine a test makes on it says so, as the
    application's does (core.db.create_engine's `behind_pooler`)."""
    return pooled_server_url is not None


@pytest.fixture
def database_env(database_url: str, direct_database_url: str) -> dict[str, str]:
    """The database settings of a command the test runs in a process of its own (`main.py ...`),
    as an operator sets them: DATABASE_URL (the pooler when the run goes through PgBouncer) and
    DATABASE_LISTEN_URL, the direct one (so DATABASE_POOLER's `auto` is on exactly behind the pooler)."""
    return {"DATABASE_URL": database_url, "DATABASE_LISTEN_URL": direct_database_url}


@pytest.fixture
def pg_data_dir() -> Iterator[Path]:
    """A DATA_DIR for a command that starts its own embedded PostgreSQL.

    Not under tmp_path: that PostgreSQL runs as another user, which must traverse the folders
    above its data, and any pytest session that starts resets /tmp/pytest-of-<user> to 0700.
    """
    parent = Path(tempfile.mkdtemp(prefix="storefront-test-data-"))
    yield parent / "data"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def settings(database_url: str, direct_database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        database_listen_url=direct_database_url,  # the same URL unless the run goes through PgBouncer
        data_dir=tmp_path / "data",
        bcrypt_rounds=4,
        stripe_webhook_secret=WEBHOOK_SECRET,
        payment_sandbox="on",  # DATABASE_URL is set: the sandbox must be asked for
    )


@contextlib.asynccontextmanager
async def serving_for_the_test(
    app: Starlette, settings: Settings, clones: Clones
) -> AsyncIterator[RunningServer]:
    """Like tests.support.served, but stopped in the background once the test is over."""
    server, serving, url = await start_server(app)
    lookups = TypeLookups()
    lookups.watch(app.state.engine)
    try:
        yield RunningServer(app, url)
    finally:
        clones.stop_later(server, serving, settings.database_url)
    # No request paid for asyncpg's type look-ups (core.db.ARRAY_TYPES misses none of its types).
    assert lookups.types == [], f"asyncpg looked up these type ids in a request: {lookups.types}"


@pytest.fixture
async def server(settings: Settings, clones: Clones) -> AsyncIterator[RunningServer]:
    """The real application, served over HTTP and WebSocket on a loopback port."""
    async with serving_for_the_test(create_app(settings), settings, clones) as running:
        yield running


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
    async with served(stub.app()) as running:
        yield stub, running.url


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
async def shop(stripe_settings: Settings, clones: Clones) -> AsyncIterator[httpx.AsyncClient]:
    """The application configured for Stripe (the stub), over HTTP."""
    async with serving_for_the_test(create_app(stripe_settings), stripe_settings, clones) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            yield client
