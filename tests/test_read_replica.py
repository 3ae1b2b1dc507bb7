"""DATABASE_REPLICA_URL against a real streaming replica (pg_basebackup of the test server):
catalog listings are read there, carts stay on the primary, and reads fall back to the primary
when the replica lags (replay paused) or is down."""

from __future__ import annotations

import os
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.factory import create_app
from core.settings import Settings
from tests.shop import cart_add, read_cart, variant_with_stock
from tests.support import StreamingReplica, eventually, served

CATEGORIES = "query Categories { categories { id name } }"


@pytest.fixture(scope="module")
def replica(server_url: str) -> Iterator[StreamingReplica]:
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip(
            "the replica is made from the embedded server's files; TEST_DATABASE_URL is another server"
        )
    standby = StreamingReplica(server_url)
    try:
        standby.start()
        yield standby
    finally:
        standby.remove()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_catalog_reads_use_the_replica_and_fall_back(
    replica: StreamingReplica, settings: Settings, database_url: str, direct_database_url: str
) -> None:
    replica_url = replica.url(make_url(direct_database_url).database or "")
    on_replica = settings.model_copy(
        update={"database_replica_url": replica_url, "replica_max_lag": 5.0, "catalog_cache_size": 0}
    )
    async with served(create_app(on_replica)) as running, httpx.AsyncClient(base_url=running.url) as http:

        async def replica_state() -> str:
            return (await http.get("/readyz")).json()["replica"]

        async def first_category() -> str:
            body = (await http.post("/graphql", json={"query": CATEGORIES})).json()
            return min(body["data"]["categories"], key=lambda c: c["id"])["name"]

        await eventually(lambda: _is(replica_state, "ok"), timeout=60, message="the replica is ok")
        original = await first_category()

        # A write this process does not hear of (no catalog notification): the replica, paused,
        # does not have it, so the listing shows the old name until the lag passes the bound.
        await _execute(replica_url, "SELECT pg_wal_replay_pause()")
        await _execute(
            direct_database_url,
            "SET LOCAL session_replication_role = replica",  # no trigger, so no notification
            "UPDATE categories SET name = 'Renamed quietly' WHERE id = (SELECT min(id) FROM categories)",
        )
        assert await first_category() == original, "read from the replica"
        await eventually(lambda: _is(first_category, "Renamed quietly"), timeout=60, message="fell back")
        assert (await http.get("/readyz")).json()["replica"] == "lagging"

        # A cart read after its mutation stays on the primary, whatever the replica holds.
        variant_id, _, _ = await variant_with_stock(database_url, 10)
        added = await cart_add(http, [(variant_id, 2)])
        cart = await read_cart(http, added["cart"]["token"])
        assert [line["quantity"] for line in cart["lines"]] == [2]

        await _execute(replica_url, "SELECT pg_wal_replay_resume()")
        await eventually(lambda: _is(replica_state, "ok"), timeout=60, message="the replica caught up")
        assert await first_category() == "Renamed quietly"

        # Down: reads go to the primary, and readiness still holds (the primary answers).
        replica.stop()
        try:
            await eventually(lambda: _is(replica_state, "down"), timeout=60, message="the replica is down")
            assert (await http.get("/readyz")).status_code == 200
            assert await first_category() == "Renamed quietly"
        finally:
            replica.start()


async def _is(read: object, expected: str) -> bool:
    return await read() == expected  # type: ignore[operator]
