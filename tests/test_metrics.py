"""GET /metrics (prometheus-client): scraped over HTTP, the counters move, the guard holds, and
two worker processes report one view."""

from __future__ import annotations

import os

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.pool import AsyncAdaptedQueuePool

from app.factory import create_app
from core.settings import Settings
from tests.shop import paid_order
from tests.stripe_stub import WEBHOOK_SECRET
from tests.support import RunningServer, graphql, serve_process, served
from tests.ws_client import GraphQLWebSocket

PRODUCTS = "query ShopFront { products(first: 2) { edges { node { name } } } }"


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_the_counters_move(client: httpx.AsyncClient, server: RunningServer, database_url: str) -> None:
    before = await scrape(client)
    for _ in range(3):
        body = await graphql(client, PRODUCTS)
        assert "errors" not in body
    refused = await graphql(
        client, 'mutation Move { orderCancel(id: "T3JkZXI6MQ==") { userErrors { code } } }'
    )
    assert refused.get("errors") or refused["data"]
    invalid = await graphql(client, "query Broken { nope }")
    assert invalid["errors"]
    user_error = await graphql(
        client,
        'mutation AddNothing { cartLinesAdd(lines: [{variantId: "UHJvZHVjdFZhcmlhbnQ6MQ==", quantity: 0}])'
        " { userErrors { code } } }",
    )
    codes = [e["code"] for e in user_error["data"]["cartLinesAdd"]["userErrors"]]
    assert codes
    await paid_order(client, database_url)
    ws = await GraphQLWebSocket.open(server.url)
    try:
        during = await scrape(client)
    finally:
        await ws.close()
    after = await scrape(client)

    key = {"operation_name": "ShopFront", "operation_type": "query"}
    assert (
        value(after, "storefront_graphql_requests_total", outcome="ok", **key)
        - value(before, "storefront_graphql_requests_total", outcome="ok", **key)
        == 3
    )
    assert (
        value(after, "storefront_graphql_request_duration_seconds_count", **key)
        - value(before, "storefront_graphql_request_duration_seconds_count", **key)
        == 3
    )
    assert value(after, "storefront_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") > value(
        before, "storefront_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED"
    )
    assert value(after, "storefront_graphql_user_errors_total", code=codes[0]) > value(
        before, "storefront_graphql_user_errors_total", code=codes[0]
    )
    # The catalog answer cache: the first ShopFront missed, the next ones hit.
    assert (
        value(after, "storefront_answer_cache_total", result="hit")
        >= value(before, "storefront_answer_cache_total", result="hit") + 2
    )
    assert value(
        after, "storefront_webhook_events_total", type="checkout.session.completed", outcome="paid"
    ) > value(before, "storefront_webhook_events_total", type="checkout.session.completed", outcome="paid")
    assert value(
        after, "storefront_order_status_changes_total", from_status="AWAITING_PAYMENT", to_status="PAID"
    ) > value(
        before, "storefront_order_status_changes_total", from_status="AWAITING_PAYMENT", to_status="PAID"
    )
    assert value(during, "storefront_websocket_connections") >= 1
    assert value(after, "storefront_db_pool_connections", pool="primary", state="idle") >= 1
    assert value(after, "storefront_job_queue_readable") == 1
    # No query text, no variables: only the operation's name reaches a label.
    text = (await client.get("/metrics")).text
    assert "products(first" not in text and "UHJvZHVjdFZhcmlhbnQ6MQ" not in text


async def test_operation_names_are_capped_and_checked(client: httpx.AsyncClient) -> None:
    await client.post("/graphql", json={"query": "query A { __typename }", "operationName": "A"})
    body = (await client.get("/metrics")).text
    assert 'operation_name="A"' in body
    from core.metrics import MAX_OPERATION_NAMES, operation_label

    assert operation_label(None) == "anonymous" and operation_label("x y") == "other"
    for index in range(MAX_OPERATION_NAMES + 5):
        operation_label(f"Generated{index}")
    assert operation_label("OneMoreAfterTheCap") == "other"


async def test_metrics_token_is_required_when_set(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": "s3cret-metrics-token"})
    async with served(create_app(guarded)) as running, httpx.AsyncClient(base_url=running.url) as http:
        assert (await http.get("/metrics")).status_code == 403
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert right.status_code == 200 and "storefront_graphql_requests" in right.text


async def test_without_a_token_only_loopback_may_scrape(settings: Settings) -> None:
    async with served(create_app(settings)) as running, httpx.AsyncClient(base_url=running.url) as http:
        # Through a trusted proxy on loopback, a client elsewhere is refused.
        forwarded = await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert forwarded.status_code == 403
        assert (await http.get("/metrics")).status_code == 200


async def test_two_workers_report_one_view(settings: Settings, database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_LISTEN_URL": settings.database_listen_url or database_url,
        "DATA_DIR": str(settings.data_dir),
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "warning",
        "WORKERS": "2",
        "RUN_WORKER": "off",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    async with serve_process(env) as url:
        requests = 12
        for _ in range(requests):  # a new connection each: the kernel spreads them over both workers
            async with httpx.AsyncClient(base_url=url) as http:
                assert "errors" not in await graphql(http, "query Counted { __typename }")
        totals = set()
        for _ in range(6):
            async with httpx.AsyncClient(base_url=url) as http:
                scraped = await scrape(http)
            totals.add(
                value(
                    scraped,
                    "storefront_graphql_requests_total",
                    operation_name="Counted",
                    operation_type="query",
                    outcome="ok",
                )
            )
        assert totals == {requests}, totals


def test_the_pool_override_point_is_still_there() -> None:
    """core.metrics.InstrumentedPool overrides `_do_get`, SQLAlchemy's pool subclassing hook."""
    assert callable(getattr(AsyncAdaptedQueuePool, "_do_get", None))
