"""The application factory: routes, middleware, the lifespan's resources, and the secrets."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from app.graphql import GraphQLApp
from app.lean_paths import LeanPaths
from core import metrics, pii
from core.catalog_cache import CATALOG_CHANNEL, CatalogCache, CatalogCacheMiddleware
from core.cors import Cors
from core.db import create_engine, read_engine_of
from core.health import healthz, readyz
from core.http_guard import RequestBodyLimit
from core.logging import configure_logging
from core.migrations import head_revision
from core.pages import graphiql_routes, storefront_routes
from core.payment_mode import SIMULATED_WARNING, sandbox_enabled
from core.persisted_queries import with_persisted_queries
from core.replica import Replica
from core.request_id import RequestIdMiddleware
from core.runtime import tune_garbage_collector
from core.security_headers import SecurityHeadersMiddleware
from core.settings import Settings, get_settings, local_secret, switch_on
from core.tracing import tracing
from dashboard.admin import UPLOAD_PATH, mount_dashboard
from domain.order_events import OrderEventHub
from domain.payments import PaymentProvider, SandboxPayments
from graph.websocket import SubprotocolRequired
from jobs.worker import running_worker
from resolvers.schema import schema
from webhooks import mailbox, sandbox
from webhooks.stripe import stripe_webhook

logger = logging.getLogger("app")

MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
# Set by `serve` for its worker processes, which must use the database the parent started.
RESOLVED_DATABASE_URL = "STOREFRONT_RESOLVED_DATABASE_URL"


def create_app(
    settings: Settings | None = None, database_url: str | None = None, *, serving: bool = False
) -> Starlette:
    """The application; `serving` (the `serve` command) also tunes the process for serving."""
    settings = settings or get_settings()
    if not logging.getLogger().handlers:  # a worker process started by `serve --workers N`
        configure_logging(settings.log_level, settings.log_format)
    database_url = database_url or os.environ.get(RESOLVED_DATABASE_URL) or settings.database_url
    if not database_url:
        raise RuntimeError("create_app needs a database URL: run `python main.py serve` to start one")

    if settings.behind_pooler(database_url) and settings.listen_url(database_url) == database_url:
        logger.warning(
            "DATABASE_POOLER is on but DATABASE_LISTEN_URL is not set: LISTEN (order events, cache "
            "invalidation) and the job queue need a direct connection to PostgreSQL"
        )
    traces = tracing(settings)  # OTEL_EXPORTER_OTLP_ENDPOINT; first, so Stripe's httpx client is traced
    payments = payment_provider(settings)
    catalog_cache = CatalogCache(settings.catalog_cache_size)
    storefront_on = switch_on(settings.storefront, auto=payments.is_sandbox)
    graphiql_on = switch_on(settings.graphiql, auto=payments.is_sandbox or settings.debug)

    def catalog_changed(payload: str) -> None:
        catalog_cache.notified(payload)  # stock of some products only, or anything (drops all)
        if app.state.replica is not None:
            app.state.replica.catalog_changed()  # read it from the primary until the replica has it

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # LISTEN needs a session of its own: the direct connection, never a transaction pooler.
        order_events = OrderEventHub(settings.listen_url(database_url))
        order_events.also_listen(CATALOG_CHANNEL, catalog_changed, catalog_cache.set_available)
        order_events.start()
        app.state.order_events = order_events
        # The pool settings are the whole server's: each worker process keeps its share, so that
        # more WORKERS never ask PostgreSQL for more connections (100 by default) than one would.
        workers = max(1, settings.workers)
        engine = create_engine(
            database_url,
            pool_size=max(4, settings.db_pool_size // workers),
            max_overflow=settings.db_max_overflow // workers,
            behind_pooler=settings.behind_pooler(database_url),
        )
        app.state.engine = engine
        app.state.read_engine = read_engine_of(engine)
        order_events.read_with(app.state.read_engine)  # an event's order is read once, before delivery
        if settings.database_replica_url:
            app.state.replica_engine = create_engine(
                settings.database_replica_url,
                pool_size=max(2, settings.db_pool_size // workers // 2),
                max_overflow=settings.db_max_overflow // workers,
                behind_pooler=settings.behind_pooler(database_url),
            )
            app.state.replica = Replica(
                read_engine_of(app.state.replica_engine), app.state.read_engine, settings.replica_max_lag
            )
            app.state.replica.start()
        # The job worker (jobs/): e-mail, late refunds, and the periodic tasks (reservation expiry...).
        worker = (
            running_worker(settings, database_url, payments)
            if settings.run_worker == "on"
            else contextlib.nullcontext()
        )
        # Gauges of this process (pool, subscriptions) for scrapes that another worker answers.
        sampler = asyncio.create_task(metrics.sample_forever(app.state), name="metrics sampler")
        if serving:
            tune_garbage_collector()
            if storefront_on:
                logger.info("storefront on %s/", settings.base_url)
            if graphiql_on:
                logger.info("GraphiQL on %s/graphql", settings.base_url)
        try:
            async with worker:
                yield
        finally:
            sampler.cancel()
            metrics.process_exited(os.getpid())
            await order_events.stop()
            if app.state.replica is not None:
                await app.state.replica.stop()
            await payments.close()
            if traces is not None:
                traces.shutdown()
            await engine.dispose()

    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if graphiql_on else None,
        allow_queries_via_get=False,
        keep_alive=True,
        keep_alive_interval=15,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
        # Pages of other origins may open a socket exactly when CORS lets them call over HTTP;
        # clients that send no Origin (apps) and same-origin pages are always let in.
        allowed_origins=settings.browser_origins,
    )
    app = Starlette(
        debug=False,
        routes=[
            Route(
                "/graphql",
                with_persisted_queries(
                    CatalogCacheMiddleware(LeanPaths(graphql, schema, settings), catalog_cache),
                    settings,
                ),
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", SubprotocolRequired(graphql)),
            Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.metrics_endpoint),
            *(sandbox.routes if payments.is_sandbox else []),
            *(mailbox.routes if payments.is_sandbox and not settings.smtp_host else []),
            *(storefront_routes() if storefront_on else []),
            *(graphiql_routes() if graphiql_on else []),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            *([traces.middleware()] if traces else []),
            Middleware(metrics.RequestMetricsMiddleware, log_requests=settings.log_format == "json"),
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                Cors,  # Starlette's, shorter for requests without an Origin
                allow_origins=settings.browser_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["content-type", "authorization"],
                expose_headers=["retry-after", "x-request-id"],
                max_age=600,
            ),
            # every route's one body cap; the dashboard's catalog upload its own
            Middleware(RequestBodyLimit, larger={UPLOAD_PATH: settings.catalog_upload_max_bytes}),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tracing = traces
    app.state.replica = None  # DATABASE_REPLICA_URL: set in the lifespan (core/replica.py)
    app.state.head_revision = head_revision()
    app.state.payments = payments
    app.state.catalog_cache = catalog_cache
    app.state.webhook_secret = webhook_secret(settings, payments)
    app.state.jwt_secret = settings.jwt_secret or local_secret(settings, "jwt_secret")
    pii.install_from_settings(settings)  # personal data's keys (core/pii.py)
    app.state.order_token_secret = derived_secret(app.state.jwt_secret, "order-token")
    # The staff dashboard at /admin (dashboard/): sign-in cookie and CSRF tokens signed with this key.
    mount_dashboard(app, derived_secret(app.state.jwt_secret, "dashboard"), settings)
    return app


def payment_provider(settings: Settings) -> PaymentProvider:
    """Stripe, or the sandbox where core.payment_mode allows it; raises PaymentConfigurationError."""
    if sandbox_enabled(settings):
        logger.warning(SIMULATED_WARNING)
        return SandboxPayments(settings.base_url)
    assert settings.stripe_secret_key  # sandbox_enabled refuses the other cases
    if settings.reservation_ttl < 1800:
        logger.warning("RESERVATION_TTL is below Stripe's minimum session lifetime of 1800 seconds")
    from domain.stripe_payments import StripePayments  # the SDK, only when it is used

    return StripePayments(settings.stripe_secret_key, settings.stripe_api_base)


def webhook_secret(settings: Settings, payments: PaymentProvider) -> str | None:
    if settings.stripe_webhook_secret:
        return settings.stripe_webhook_secret
    if payments.is_sandbox:
        return local_secret(settings, "stripe_webhook_secret", prefix="whsec_")
    logger.error("STRIPE_WEBHOOK_SECRET is not set: every Stripe webhook will be refused")
    return None


def derived_secret(root: str, purpose: str) -> str:
    """A key for one purpose, derived from JWT_SECRET so that operators configure a single secret."""
    return hmac.new(root.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def create_serving_app() -> Starlette:
    """The application of one of `serve --workers N`'s worker processes."""
    return create_app(serving=True)
