"""The server around the schema: probes, error masking, GraphiQL, the exported schema, seeding."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, text

from app.factory import create_app
from core.settings import Settings
from demo.load import seed_demo_catalog
from resolvers.schema import schema_sdl
from tests.support import graphql, own_engine, served

ROOT = Path(__file__).resolve().parent.parent


async def execute(database_url: str, sql: str) -> None:
    engine = own_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def test_healthz_and_readyz(client: httpx.AsyncClient, database_url: str) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    await execute(database_url, "UPDATE alembic_version SET version_num = 'older'")
    stale = await client.get("/readyz")
    assert stale.status_code == 503 and stale.json()["migrations"] == "pending"


async def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    app = create_app(unreachable)
    async with served(app) as running:
        async with httpx.AsyncClient(base_url=running.url) as client:
            assert (await client.get("/healthz")).status_code == 200
            response = await client.get("/readyz")
            assert response.status_code == 503 and response.json()["database"] == "unreachable"
            body = (await client.post("/graphql", json={"query": "{ products { totalCount } }"})).json()
            assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
            assert "127.0.0.1" not in str(body) and "nobody" not in str(body)


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await execute(database_url, "DROP TABLE product_variants CASCADE")
    with caplog.at_level(logging.ERROR, logger="graph.errors"):
        response = await client.post(
            "/graphql", json={"query": "{ products(first: 2) { edges { node { variants { sku } } } } }"}
        )
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body["errors"]
    for error in body["errors"]:
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        assert request_id in error["message"]
    text_of_answer = response.text.lower()
    for leak in ("product_variants", "select", "traceback", "asyncpg", "sqlalchemy"):
        assert leak not in text_of_answer
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "product_variants" in caplog.text


async def test_syntax_and_validation_errors_reach_the_client(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ products { nope } }")
    assert "nope" in body["errors"][0]["message"]
    response = await client.post("/graphql", json={"query": "{ products("})
    assert "Syntax Error" in response.json()["errors"][0]["message"]


async def _graphiql_answer(settings: Settings) -> httpx.Response:
    async with served(create_app(settings)) as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            return await http.get("/graphql", headers={"Accept": "text/html"})


async def test_graphiql_is_on_in_the_demo_and_off_in_production(
    client: httpx.AsyncClient, settings: Settings, stripe_settings: Settings
) -> None:
    sandbox_page = await client.get("/graphql", headers={"Accept": "text/html"})  # no Stripe key: the demo
    assert (
        sandbox_page.status_code == 200
        and "/graphiql/vendor/graphiql-3.8.3/graphiql.min.js" in sandbox_page.text
    )
    assert "unpkg" not in sandbox_page.text  # served from here: works offline
    assert (await _graphiql_answer(stripe_settings)).status_code == 404  # a real Stripe key: production
    assert (await _graphiql_answer(stripe_settings.model_copy(update={"debug": True}))).status_code == 200
    assert (await _graphiql_answer(stripe_settings.model_copy(update={"graphiql": "on"}))).status_code == 200
    assert (await _graphiql_answer(settings.model_copy(update={"graphiql": "off"}))).status_code == 404


def test_checked_in_schema_is_current() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == schema_sdl(), "schema.graphql is stale: run `python main.py export-schema`"


async def test_seeding_twice_changes_nothing(database_url: str) -> None:
    engine = own_engine(database_url)
    counts = (
        "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM product_variants),"
        " (SELECT count(*) FROM categories), (SELECT sum(stock) FROM product_variants)"
    )
    async with engine.connect() as conn:
        before = (await conn.execute(text(counts))).one()
    assert await seed_demo_catalog(database_url, 320, only_if_empty=False) == 0
    assert await seed_demo_catalog(database_url, 320, only_if_empty=True) == 0
    async with engine.connect() as conn:
        after = (await conn.execute(text(counts))).one()
    await engine.dispose()
    assert before == after
    assert before[0] == 320 and before[2] >= 12


async def test_the_connections_a_burst_opened_are_kept_for_the_next(settings: Settings) -> None:
    """By default every connection of the pool stays open (DB_POOL_SIZE 48, DB_MAX_OVERFLOW 0, as
    many as 32 + 16 before): a second burst as wide as the first opens none."""
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.db_pool_size, defaults.db_max_overflow) == (48, 0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        engine = app.state.engine
        opened: list[object] = []
        event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))

        async def burst() -> None:
            async def hold(started: asyncio.Event, go: asyncio.Event) -> None:
                async with engine.connect() as conn:
                    await conn.get_raw_connection()  # checked out (opened if need be), no transaction
                    started.set()
                    await go.wait()

            go = asyncio.Event()
            started = [asyncio.Event() for _ in range(40)]
            holders = [asyncio.create_task(hold(each, go)) for each in started]
            await asyncio.gather(*(each.wait() for each in started))  # 40 connections at once
            go.set()
            await asyncio.gather(*holders)

        await burst()
        first = len(opened)
        await burst()
        assert len(opened) == first and engine.pool.checkedin() >= 40


@pytest.mark.parametrize(("workers", "pool", "overflow"), [(1, 32, 16), (2, 16, 8), (4, 8, 4), (16, 4, 1)])
async def test_the_connection_pool_is_the_servers_split_among_its_workers(
    settings: Settings, workers: int, pool: int, overflow: int
) -> None:
    app = create_app(
        settings.model_copy(update={"workers": workers, "db_pool_size": 32, "db_max_overflow": 16})
    )
    async with app.router.lifespan_context(app):
        engine_pool = app.state.engine.pool
        assert (engine_pool.size(), engine_pool._max_overflow) == (pool, overflow)
