"""Prometheus metrics (prometheus-client): the metrics, the small hooks that move them, and
GET /metrics.

Every hook is one call at the place it measures (`graphql_operation`, `webhook_event`,
`catalog_cache`, `order_status_changed`, `job_failed`); requests and WebSockets are measured by
`RequestMetricsMiddleware`. With `WORKERS>1` the `serve` command gives its workers a shared
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multi-process mode), so any worker answers for all.
Labels never carry query text or variables; operation names are capped (`operation_label`).
"""

from __future__ import annotations

import contextvars
import hmac
import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import AsyncAdaptedQueuePool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("storefront.requests")

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200  # distinct operation names per process; later ones count as "other"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "storefront_graphql_requests",
    "GraphQL requests over HTTP, by operation name and type and outcome (ok, error, rejected).",
    ["operation_name", "operation_type", "outcome"],
)
LATENCY = Histogram(
    "storefront_graphql_request_duration_seconds",
    "Time from a GraphQL request's arrival to its answer's last byte.",
    ["operation_name", "operation_type"],
    buckets=_LATENCY_BUCKETS,
)
ERRORS = Counter("storefront_graphql_errors", "GraphQL errors by extensions.code.", ["code"])
USER_ERRORS = Counter("storefront_graphql_user_errors", "Mutation userErrors by code.", ["code"])
WEBHOOK_EVENTS = Counter(
    "storefront_webhook_events", "Stripe webhook events by type and outcome.", ["type", "outcome"]
)
CACHE = Counter("storefront_answer_cache", "Catalog answer cache lookups by result.", ["result"])
ORDER_STATUS_CHANGES = Counter(
    "storefront_order_status_changes",
    "Order status changes made, by from and to.",
    ["from_status", "to_status"],
)
JOB_FAILURES = Counter("storefront_job_failures", "Failed runs of background jobs, by task.", ["task"])
WEBSOCKETS = Gauge(
    "storefront_websocket_connections", "Open WebSocket connections.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS = Gauge(
    "storefront_subscriptions", "Running GraphQL subscriptions.", multiprocess_mode="livesum"
)
POOL = Gauge(
    "storefront_db_pool_connections",
    "Database pool connections by pool (primary, replica) and state (in_use, idle, waiting).",
    ["pool", "state"],
    multiprocess_mode="livesum",
)

_operation_names: set[str] = set()

# Label children by label values: `Metric.labels` validates and locks on every call, and a request
# would pay it three times. The values are bounded (operation names are capped), so are these.
_children: dict[tuple[object, tuple[str, ...]], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def operation_label(name: str | None) -> str:
    """The operation name as a label: anonymous, a valid GraphQL name, or "other" past the cap."""
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name not in _operation_names:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        _operation_names.add(name)
    return name


def _loggable(name: str | None) -> str:
    """The operation name for the log line: the cap on label values is the metrics' alone."""
    if not name:
        return "anonymous"
    return name if _NAME.fullmatch(name) else "other"


_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def _code_label(code: object) -> str:
    return code if isinstance(code, str) and _CODE.fullmatch(code) else "other"


# ---------------------------------------------------------------- hooks


@dataclass(slots=True)
class _Operation:
    name: str = "unknown"  # the metrics label (capped: see operation_label)
    logged_name: str = "unknown"  # the name in the request's log line (any valid name, never capped)
    type: str = "unknown"
    outcome: str = "rejected"  # until an operation ran: refused before parsing (400, 413, 429...)
    error_codes: list[str] = field(default_factory=list)


_operation: contextvars.ContextVar[_Operation | None] = contextvars.ContextVar("operation", default=None)


def graphql_operation(
    name: str | None, operation_type: str, error_codes: Iterable[object], user_error_codes: Iterable[object]
) -> None:
    """Called once per executed operation (graph/metrics.py): its name, type and errors."""
    codes = [_code_label(code) for code in error_codes]
    for code in codes:
        ERRORS.labels(code).inc()
    for code in user_error_codes:
        USER_ERRORS.labels(_code_label(code)).inc()
    current = _operation.get()
    if current is not None:
        current.name, current.logged_name = operation_label(name), _loggable(name)
        current.type = operation_type
        current.outcome = "error" if codes else "ok"
        current.error_codes = codes


def webhook_event(event_type: object, outcome: str) -> None:
    label = event_type if isinstance(event_type, str) and len(event_type) <= 64 else "other"
    WEBHOOK_EVENTS.labels(label, outcome).inc()


_QUERY_NAME = re.compile(r"\bquery\s+([A-Za-z_][A-Za-z0-9_]*)")


def catalog_cache(hit: bool, query: str, operation_name: str | None) -> None:
    """A lookup of the catalog answer cache; a hit is also the request's (executed no further)."""
    _child(CACHE, "hit" if hit else "miss").inc()
    current = _operation.get()
    if hit and current is not None:
        if operation_name is None:
            operation_name = _query_name(query)
        current.name, current.type, current.outcome = operation_label(operation_name), "query", "ok"
        current.logged_name = _loggable(operation_name)


@lru_cache(maxsize=512)
def _query_name(query: str) -> str | None:
    found = _QUERY_NAME.search(query)
    return found[1] if found else None


def order_status_changed(from_status: str, to_status: str) -> None:
    ORDER_STATUS_CHANGES.labels(from_status, to_status).inc()


def job_failed(task: str) -> None:
    JOB_FAILURES.labels(task).inc()


def counting_failures(task: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler` (a job's), counting each run that raises."""

    async def run(*args: Any) -> Any:
        try:
            return await handler(*args)
        except Exception:
            job_failed(task)
            raise

    return run


# ---------------------------------------------------------------- the pool


class InstrumentedPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's async queue pool, counting the checkouts waiting for a connection.

    `_do_get` is the pool's documented override point for subclasses (SQLAlchemy's own pools
    implement it); tests/test_metrics.py checks it is still there.
    """

    waiting = 0

    def _do_get(self) -> Any:
        self.waiting += 1
        try:
            return super()._do_get()
        finally:
            self.waiting -= 1


def sample_pool(label: str, pool: Any) -> None:
    if isinstance(pool, AsyncAdaptedQueuePool):
        POOL.labels(label, "in_use").set(pool.checkedout())
        POOL.labels(label, "idle").set(pool.checkedin())
        POOL.labels(label, "waiting").set(getattr(pool, "waiting", 0))


# ---------------------------------------------------------------- requests


class RequestMetricsMiddleware:
    """Counts and times GraphQL requests over HTTP and counts open WebSockets; with
    `log_requests`, logs one line per GraphQL request (operation, outcome, duration)."""

    def __init__(self, app: ASGIApp, path: str = "/graphql", log_requests: bool = False) -> None:
        self.app = app
        self.path = path
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            WEBSOCKETS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                WEBSOCKETS.dec()
            return
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        operation = _Operation()
        token = _operation.set(operation)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _operation.reset(token)
            elapsed = time.perf_counter() - started
            if status >= 500:
                operation.outcome = "error"
            _child(REQUESTS, operation.name, operation.type, operation.outcome).inc()
            _child(LATENCY, operation.name, operation.type).observe(elapsed)
            if self.log_requests:
                logger.info(
                    "%s %s %s %d in %.1f ms",
                    operation.type,
                    operation.logged_name,
                    operation.outcome,
                    status,
                    elapsed * 1000,
                    extra={
                        "operation_name": operation.logged_name,
                        "operation_type": operation.type,
                        "outcome": operation.outcome,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "error_codes": operation.error_codes,
                    },
                )


# ---------------------------------------------------------------- GET /metrics


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed(request: Request, token: str | None) -> bool:
    """METRICS_TOKEN as a bearer token when set; otherwise only clients on loopback."""
    if token:
        given = request.headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode())
    return _loopback(request.client.host if request.client else None)


class _Values:
    """Gauges read from the database at scrape time (the same whichever process answers)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families


_QUEUE = text("SELECT entrypoint, status::text AS status, count(*) AS n FROM pgqueuer GROUP BY 1, 2")


async def _queue_families(engine: Any) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily(
        "storefront_job_queue_jobs",
        "Background jobs by task and status (queued, picked, failed).",
        labels=["task", "status"],
    )
    up = GaugeMetricFamily("storefront_job_queue_readable", "1 when the job queue could be read.")
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(_QUEUE)).all()
    except (SQLAlchemyError, OSError):
        up.add_metric([], 0)
        return [up]
    for row in rows:
        depth.add_metric([row.entrypoint, row.status], row.n)
    up.add_metric([], 1)
    return [depth, up]


def sample_process(state: Any) -> None:
    """This process's gauges: its pools and its subscriptions."""
    engine = getattr(state, "engine", None)
    if engine is not None:
        sample_pool("primary", engine.sync_engine.pool)
    replica = getattr(state, "replica_engine", None)
    if replica is not None:
        sample_pool("replica", replica.sync_engine.pool)
    events = getattr(state, "order_events", None)
    if events is not None:
        SUBSCRIPTIONS.set(events.subscriber_count)


async def metrics_endpoint(request: Request) -> Response:
    state = request.app.state
    if not allowed(request, state.settings.metrics_token):
        return PlainTextResponse("Forbidden\n", status_code=403)
    sample_process(state)
    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    body = generate_latest(registry)
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Values(await _queue_families(state.read_engine)))  # type: ignore[arg-type]
    body += generate_latest(extra)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def process_exited(pid: int) -> None:
    """Drop a finished worker's live gauges from the multi-process view."""
    if os.environ.get(MULTIPROC_DIR):
        multiprocess.mark_process_dead(pid)


async def sample_forever(state: Any, interval: float = 5.0) -> None:
    """Keep this process's gauges current for scrapes another worker answers."""
    import asyncio

    while True:
        sample_process(state)
        await asyncio.sleep(interval)
