"""SQL statements per request, counted by PostgreSQL itself with pg_stat_statements.

The extension is preloaded by the server's PostgreSQL (see processes.app_server) and created in
the `postgres` database. The benchmark's own SQL (these counts, setting stock, checking orders)
runs as a role of its own, BENCH_ROLE; the count takes only the `shop` database's statements
(by dbid) of every other role (by userid), so the measuring queries are left out exactly, not
subtracted. pg_stat_statements counts top-level statements (`track = top`): what a client sends,
one per round trip, not the statements of triggers and functions.

Left out of the count, and shown apart: transaction control (BEGIN, COMMIT, ROLLBACK and
savepoints) and the server's own background work, which no request causes.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

APP_DATABASE = "shop"
STATS_DATABASE = "postgres"
BENCH_ROLE = "bench"
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE)\b", re.I)
# Normalised texts of the server's periodic queries (not caused by any request).
BACKGROUND = {
    "SELECT $1": "health check of the LISTEN connection (every 5 s)",
}
BACKGROUND_PATTERNS = {
    "SKIP LOCKED": "reservation expiry (every 30 s)",
}


async def _fetch(dsn: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(statement, *args)
    finally:
        await conn.close()


def fetch(dsn: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(dsn, statement, *args))


def enable(superuser_dsn: str) -> None:
    """Create the extension and the benchmark's role (connected as postgres to STATS_DATABASE)."""
    fetch(superuser_dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    if not fetch(superuser_dsn, "SELECT 1 FROM pg_roles WHERE rolname = $1", BENCH_ROLE):
        fetch(superuser_dsn, f"CREATE ROLE {BENCH_ROLE} LOGIN SUPERUSER")


def sessions(stats_dsn: str) -> int:
    """Connections opened to the application's database since the server started."""
    return fetch(stats_dsn, "SELECT sessions FROM pg_stat_database WHERE datname = $1", APP_DATABASE)[0][0]


def server_version(dsn: str) -> str:
    return fetch(dsn, "SHOW server_version")[0][0]


Snapshot = dict[tuple[int, int], tuple[str, int]]  # (userid, queryid) -> (query text, calls)


def snapshot(stats_dsn: str) -> Snapshot:
    rows = fetch(
        stats_dsn,
        "SELECT userid::bigint, queryid, query, calls FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND queryid IS NOT NULL"
        " AND userid <> (SELECT oid FROM pg_roles WHERE rolname = $2)",
        APP_DATABASE,
        BENCH_ROLE,
    )
    return {(row["userid"], row["queryid"]): (row["query"], row["calls"]) for row in rows}


def kind(query: str) -> str:
    """'counted', 'transaction' or 'background'."""
    if TRANSACTION_CONTROL.match(query):
        return "transaction"
    text = " ".join(query.split())
    if text in BACKGROUND or any(pattern in text for pattern in BACKGROUND_PATTERNS):
        return "background"
    return "counted"


@dataclass(frozen=True)
class StatementCount:
    requests: int
    counted: float  # statements per request, transaction control and background work left out
    transaction: float  # BEGIN/COMMIT/ROLLBACK per request
    by_statement: list[tuple[float, str]]  # (calls per request, normalised text) of the counted ones

    def label(self) -> str:
        extra = f" (+{self.transaction:g} tx)" if self.transaction else ""
        return f"{self.counted:g}{extra}"


def difference(before: Snapshot, after: Snapshot, requests: int) -> StatementCount:
    counted = 0
    transaction = 0
    by_statement: list[tuple[float, str]] = []
    for key, (query, calls) in after.items():
        calls -= before.get(key, ("", 0))[1]
        if calls <= 0:
            continue
        what = kind(query)
        if what == "counted":
            counted += calls
            by_statement.append((round(calls / requests, 2), " ".join(query.split())))
        elif what == "transaction":
            transaction += calls
    by_statement.sort(key=lambda item: (-item[0], item[1]))
    return StatementCount(
        requests=requests,
        counted=round(counted / requests, 2),
        transaction=round(transaction / requests, 2),
        by_statement=by_statement,
    )


def settle(stats_dsn: str, quiet: float = 0.3, timeout: float = 30.0) -> Snapshot:
    """Wait until requests still in flight (from a load run just ended) have finished."""
    deadline = time.monotonic() + timeout
    previous = snapshot(stats_dsn)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        current = snapshot(stats_dsn)
        if _counted_total(current) == _counted_total(previous):
            return current
        previous = current
    return previous


def _counted_total(shot: Snapshot) -> int:
    return sum(calls for query, calls in shot.values() if kind(query) == "counted")


def count_statements(stats_dsn: str, send: Callable[[int], object], requests: int) -> StatementCount:
    """Statements per request over `requests` sequential requests made by `send(number)`."""
    before = settle(stats_dsn)
    for number in range(requests):
        send(number)
    return difference(before, snapshot(stats_dsn), requests)
