"""The command line (see shared/spec/operations.md); the application itself is in app/."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from app.factory import RESOLVED_DATABASE_URL, create_app
from core import pii
from core.db import create_engine
from core.http_protocol import uvicorn_options
from core.logging import configure_logging
from core.migrations import upgrade_to_head
from core.payment_mode import PaymentConfigurationError, sandbox_enabled
from core.settings import Settings, get_settings
from demo.load import seed_demo_catalog
from resolvers.schema import schema_sdl

__all__ = ["create_app", "main", "seed_demo_catalog"]  # the tests start the application from here

logger = logging.getLogger("main")

ROOT = Path(__file__).resolve().parent


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
        shared_metrics_folder()
        uvicorn.run("app.factory:create_serving_app", factory=True, **options)
    else:
        uvicorn.run(create_app(settings, database_url, serving=True), **options)


def shared_metrics_folder() -> None:
    """PROMETHEUS_MULTIPROC_DIR for the workers (prometheus-client's multi-process mode), so that
    any of them answers GET /metrics for all: the operator's folder, emptied of a previous run's
    files, else a temporary one removed at exit."""
    import atexit
    import shutil
    import tempfile

    from core.metrics import MULTIPROC_DIR

    folder = os.environ.get(MULTIPROC_DIR)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
        return
    folder = tempfile.mkdtemp(prefix="storefront-metrics-")
    os.environ[MULTIPROC_DIR] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def _exit_gracefully(signum: int, frame: object) -> None:
    raise SystemExit(0)


def command_migrate(settings: Settings, args: argparse.Namespace) -> None:
    upgrade_to_head(resolve_database_url(settings))
    print("migrations are at head")


DEFAULT_PRODUCTS = 320


def command_seed(settings: Settings, args: argparse.Namespace) -> None:
    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    pooled = settings.behind_pooler(database_url)
    seeding = seed_demo_catalog(database_url, args.products, only_if_empty=False, behind_pooler=pooled)
    added = asyncio.run(seeding)
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
        engine = create_engine(database_url, pool_size=1, behind_pooler=settings.behind_pooler(database_url))
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
    from app.factory import payment_provider
    from jobs.worker import Worker

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


def command_import_catalog(settings: Settings, args: argparse.Namespace) -> None:
    """Load or update the catalog from a CSV file (README, "Catalog CSV")."""
    from app.catalog_files import import_file

    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    report = asyncio.run(
        import_file(
            database_url,
            Path(args.file),
            dry_run=args.dry_run,
            partial=args.partial,
            behind_pooler=settings.behind_pooler(database_url),
        )
    )
    for rejected in report.rejected:
        print(f"line {rejected.line}: {rejected.reason}", file=sys.stderr)
    if report.rejected_count > len(report.rejected):
        print(f"... and {report.rejected_count - len(report.rejected)} more rejected row(s)", file=sys.stderr)
    print(report.summary())
    if report.rejected_count and not args.partial:
        raise SystemExit(1)


def command_export_catalog(settings: Settings, args: argparse.Namespace) -> None:
    from app.catalog_files import export_file

    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    written = asyncio.run(
        export_file(database_url, Path(args.file), behind_pooler=settings.behind_pooler(database_url))
    )
    print(f"wrote {written} variant row(s) to {args.file}")


def command_rotate_keys(settings: Settings, args: argparse.Namespace) -> None:
    """Re-encrypt personal data with PII_ACTIVE_KEY while the shop keeps serving."""
    from domain.pii_rotation import rotate, stale_rows

    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)

    async def run() -> tuple[dict[str, int], int]:
        engine = create_engine(database_url, pool_size=2, behind_pooler=settings.behind_pooler(database_url))
        try:
            return await rotate(engine), await stale_rows(engine)
        finally:
            await engine.dispose()

    done, left = asyncio.run(run())
    key = pii.active_key_id()
    print(f"re-encrypted {sum(done.values())} row(s) with key {key}; {left} row(s) left on other keys")


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

    load = commands.add_parser("import-catalog", help="load or update the catalog from CSV (idempotent)")
    load.add_argument("file", help="the CSV file (README, 'Catalog CSV')")
    load.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    load.add_argument(
        "--partial", action="store_true", help="import the good rows of a file with rejected rows"
    )
    load.set_defaults(handler=command_import_catalog)

    dump = commands.add_parser("export-catalog", help="write the catalog as CSV in the import format")
    dump.add_argument("file")
    dump.set_defaults(handler=command_export_catalog)

    rotate = commands.add_parser("rotate-keys", help="re-encrypt personal data with PII_ACTIVE_KEY")
    rotate.set_defaults(handler=command_rotate_keys)

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
    configure_logging(settings.log_level, settings.log_format)
    if args.command != "export-schema":
        pii.install_from_settings(settings)  # every command that reads or writes personal data
    args.handler(settings, args)


if __name__ == "__main__":
    main()
