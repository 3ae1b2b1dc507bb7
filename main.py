"""The Starlette application and its command line (see shared/spec/operations.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import WebSocketDisconnected

from core.catalog_cache import CATALOG_CHANNEL, CatalogCache, CatalogCacheMiddleware
from core.db import create_engine
from core.health import healthz, readyz
from core.http_guard import RequestBodyLimit
from core.http_protocol import uvicorn_options
from core.logging import configure_logging
from core.migrations import head_revision, upgrade_to_head
from core.order_events import OrderEventHub
from core.pages import graphiql_page, graphiql_routes, storefront_routes
from core.payment_mode import SIMULATED_WARNING, PaymentConfigurationError, sandbox_enabled
from core.request_id import RequestIdMiddleware
from core.runtime import tune_garbage_collector
from core.security_headers import SecurityHeadersMiddleware
from core.settings import Settings, get_settings, local_secret, switch_on
from demo.load import seed_demo_catalog
from domain.payments import PaymentProvider, SandboxPayments
from graph.context import Context
from graph.schema import schema, schema_sdl
from graph.websocket import LegacyGraphQLWSHandler, SubprotocolRequired
from jobs.worker import Worker, running_worker
from webhooks import mailbox, sandbox
from webhooks.stripe import stripe_webhook

logger = logging.getLogger("main")

ROOT = Path(__file__).resolve().parent
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
# Set by `serve` for its worker processes, which must use the database the parent started.
RESOLVED_DATABASE_URL = "STOREFRONT_RESOLVED_DATABASE_URL"


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """Both subscription protocols carry JSON in text frames; strawberry sends bytes as binary."""

    async def send_json(self, message: Any) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLApp(GraphQL[Context, None]):
    websocket_adapter_class = TextFrameWebSocketAdapter
    graphql_ws_handler_class = LegacyGraphQLWSHandler

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.app.state
        return Context(
            request=request,
            response=response,
            engine=state.engine,
            read_engine=state.read_engine,
            settings=state.settings,
            jwt_secret=state.jwt_secret,
            payments=state.payments,
            order_events=state.order_events,
            order_token_secret=state.order_token_secret,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()  # vendored assets, so it works offline and under a strict CSP

    def decode_json(self, data: str | bytes) -> object:
        # json.loads fails on invalid UTF-8 with an error strawberry does not catch (a 500) and lets
        # lone surrogates ("\udc80") through to the database; orjson refuses both with a 400.
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> object:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed


def create_app(
    settings: Settings | None = None, database_url: str | None = None, *, serving: bool = False
) -> Starlette:
    """The application; `serving` (the `serve` command) also tunes the process for serving."""
    settings = settings or get_settings()
    if not logging.getLogger().handlers:  # a worker process started by `serve --workers N`
        configure_logging(settings.log_level)
    database_url = database_url or os.environ.get(RESOLVED_DATABASE_URL) or settings.database_url
    if not database_url:
        raise RuntimeError("create_app needs a database URL: run `python main.py serve` to start one")

    payments = payment_provider(settings)
    catalog_cache = CatalogCache(settings.catalog_cache_size)
    storefront_on = switch_on(settings.storefront, auto=payments.is_sandbox)
    graphiql_on = switch_on(settings.graphiql, auto=payments.is_sandbox or settings.debug)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        order_events = OrderEventHub(database_url)
        order_events.also_listen(CATALOG_CHANNEL, catalog_cache.invalidate, catalog_cache.set_available)
        order_events.start()
        app.state.order_events = order_events
        # The pool settings are the whole server's: each worker process keeps its share, so that
        # more WORKERS never ask PostgreSQL for more connections (100 by default) than one would.
        workers = max(1, settings.workers)
        engine = create_engine(
            database_url,
            pool_size=max(4, settings.db_pool_size // workers),
            max_overflow=settings.db_max_overflow // workers,
        )
        app.state.engine = engine
        app.state.read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        # The job worker (jobs/): e-mail, late refunds, and the periodic tasks (reservation expiry...).
        worker = (
            running_worker(settings, database_url, payments)
            if settings.run_worker == "on"
            else contextlib.nullcontext()
        )
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
            await order_events.stop()
            await payments.close()
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
                RequestBodyLimit(CatalogCacheMiddleware(graphql, catalog_cache)),
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", SubprotocolRequired(graphql)),
            Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *(sandbox.routes if payments.is_sandbox else []),
            *(mailbox.routes if payments.is_sandbox and not settings.smtp_host else []),
            *(storefront_routes() if storefront_on else []),
            *(graphiql_routes() if graphiql_on else []),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.browser_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["content-type", "authorization"],
                expose_headers=["retry-after", "x-request-id"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.head_revision = head_revision()
    app.state.payments = payments
    app.state.catalog_cache = catalog_cache
    app.state.webhook_secret = webhook_secret(settings, payments)
    app.state.jwt_secret = settings.jwt_secret or local_secret(settings, "jwt_secret")
    app.state.order_token_secret = derived_secret(app.state.jwt_secret, "order-token")
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


# ---------------------------------------------------------------- command line


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise start (or join) the embedded server under DATA_DIR."""
    if settings.database_url:
        return settings.database_url
    from core.embedded import start_embedded_postgres

    return start_embedded_postgres(settings.data_dir)


def command_serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    # The command line wins over the environment, in this process and in its workers.
    settings = settings.model_copy(update={"host": host, "port": port, "workers": workers})
    os.environ.update({"HOST": host, "PORT": str(port), "WORKERS": str(workers)})
    try:
        sandbox_enabled(settings)  # refuse before starting a database or migrating
    except PaymentConfigurationError as error:
        raise SystemExit(f"not starting: {error}") from None
    embedded = not settings.database_url
    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    if embedded:
        added = asyncio.run(seed_demo_catalog(database_url, DEFAULT_PRODUCTS, only_if_empty=True))
        if added:
            logger.info("seeded the demo catalog with %d products", added)
    os.environ[RESOLVED_DATABASE_URL] = database_url
    logger.info("serving on http://%s:%s with %d worker(s)", host, port, workers)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "uvloop",
        # httptools, with limits on headers and timeouts on slow clients (the tests use the same).
        **uvicorn_options(settings, workers=workers),
        "log_level": settings.log_level.lower(),
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "access_log": settings.debug,
        # Dead or non-reading WebSocket peers miss pings and are closed; frames are capped at 1 MB.
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "ws_max_size": 1_048_576,
        "ws_max_queue": 16,
        "log_config": None,
    }
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal; exiting
    # normally on it lets the embedded database stop at exit.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _exit_gracefully)
    if workers > 1:
        uvicorn.run("main:create_serving_app", factory=True, **options)
    else:
        uvicorn.run(create_app(settings, database_url, serving=True), **options)


def create_serving_app() -> Starlette:
    """The application of one of `serve --workers N`'s worker processes."""
    return create_app(serving=True)


def _exit_gracefully(signum: int, frame: object) -> None:
    raise SystemExit(0)


def command_migrate(settings: Settings, args: argparse.Namespace) -> None:
    upgrade_to_head(resolve_database_url(settings))
    print("migrations are at head")


DEFAULT_PRODUCTS = 320


def command_seed(settings: Settings, args: argparse.Namespace) -> None:
    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    added = asyncio.run(seed_demo_catalog(database_url, args.products, only_if_empty=False))
    print(f"demo catalog loaded: {added} product(s) added")


def command_create_staff(settings: Settings, args: argparse.Namespace) -> None:
    from domain.auth import (
        InvalidEmail,
        StaffSetupError,
        create_or_promote_staff,
        normalize_email,
        staff_exists,
    )

    try:
        email = normalize_email(args.email)
    except InvalidEmail:
        raise SystemExit(f"not a valid e-mail address: {args.email!r}") from None

    async def run(database_url: str) -> str:
        engine = create_engine(database_url, pool_size=1)
        try:
            password = os.environ.get("STAFF_PASSWORD")
            if password is None and not await staff_exists(engine, email):
                password = _prompt_password()
            user, created = await create_or_promote_staff(engine, email, password, settings.bcrypt_rounds)
        except StaffSetupError as error:
            raise SystemExit(str(error)) from None
        finally:
            await engine.dispose()
        return f"{'created' if created else 'promoted'} staff user {user.email}"

    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    print(asyncio.run(run(database_url)))


def _prompt_password() -> str:
    import getpass

    password = getpass.getpass("Password for the new staff user: ")
    if password != getpass.getpass("Again: "):
        raise SystemExit("the passwords differ")
    return password


def command_worker(settings: Settings, args: argparse.Namespace) -> None:
    """Job workers in this process until SIGINT/SIGTERM, which lets running jobs finish."""
    try:
        payments = payment_provider(settings)
    except PaymentConfigurationError as error:
        raise SystemExit(f"not starting: {error}") from None
    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)

    async def run() -> None:
        worker = Worker(settings, database_url, payments, concurrency=args.concurrency)
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop_signal, worker.stop)
        logger.info("job worker running (concurrency %d)", args.concurrency)
        try:
            await worker.run()
        finally:
            await payments.close()

    asyncio.run(run())
    logger.info("job worker stopped")


def command_export_schema(settings: Settings, args: argparse.Namespace) -> None:
    Path(args.output).write_text(schema_sdl())
    print(f"wrote {args.output}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Storefront GraphQL API")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the server (the default)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=command_serve)

    migrate = commands.add_parser("migrate", help="apply migrations to head")
    migrate.set_defaults(handler=command_migrate)

    seed = commands.add_parser("seed", help="load the deterministic demo catalog (idempotent)")
    seed.add_argument("--products", type=int, default=DEFAULT_PRODUCTS)
    seed.set_defaults(handler=command_seed)

    staff = commands.add_parser(
        "create-staff", help="create or promote a staff user (STAFF_PASSWORD or a prompt)"
    )
    staff.add_argument("email")
    staff.set_defaults(handler=command_create_staff)

    worker = commands.add_parser("worker", help="run background job workers (e-mail, periodic tasks)")
    worker.add_argument("--concurrency", type=int, default=8, help="jobs run at once (default 8)")
    worker.set_defaults(handler=command_worker)

    export = commands.add_parser("export-schema", help="write schema.graphql from the code")
    export.add_argument("--output", default=str(ROOT / "schema.graphql"))
    export.set_defaults(handler=command_export_schema)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    settings = get_settings()
    configure_logging(settings.log_level)
    args.handler(settings, args)


if __name__ == "__main__":
    main()
