"""A job worker: pgqueuer over an asyncpg pool of its own, with our tasks and periodic schedule.

`python main.py worker` runs one in its own process; `serve` runs one inside each server process
unless RUN_WORKER is off. Any number may run against one database: a job is picked by one
worker (FOR UPDATE SKIP LOCKED), a worker that stops answering (killed mid-job) loses its jobs
to the others after JOB_HEARTBEAT_TIMEOUT, a job that keeps failing is held as failed for staff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import asyncpg
from pgqueuer import PgQueuer
from pgqueuer.executors import DatabaseRetryEntrypointExecutor, EntrypointExecutorParameters
from sqlalchemy.engine import make_url

from core.db import create_engine, read_engine_of
from core.metrics import counting_failures
from core.settings import Settings
from domain.notifications import Mailer
from domain.payments import PaymentProvider
from jobs.periodic import schedule
from jobs.tasks import Resources, handlers
from mail.transport import smtp_transport

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = timedelta(minutes=10)


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def mailer(settings: Settings) -> Mailer:
    return Mailer(settings=settings, transport=smtp_transport(settings))


class Worker:
    """Start with `run()`; `stop()` lets running jobs finish and returns."""

    def __init__(
        self, settings: Settings, database_url: str, payments: PaymentProvider, *, concurrency: int = 4
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.payments = payments
        self.concurrency = max(2, concurrency)
        self._pgq: PgQueuer | None = None
        self._stopping = False

    def _retrying(self, parameters: EntrypointExecutorParameters) -> DatabaseRetryEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(
            parameters=parameters,
            # pgqueuer counts retries; JOB_MAX_ATTEMPTS counts runs, the first one included.
            max_attempts=self.settings.job_max_attempts - 1,
            initial_delay=timedelta(seconds=self.settings.job_retry_delay),
            max_delay=MAX_RETRY_DELAY,
        )

    async def run(self) -> None:
        # pgqueuer LISTENs for new jobs and runs its queries outside transactions: its own small
        # pool is on the direct connection (DATABASE_LISTEN_URL), never a transaction pooler.
        pool = await asyncpg.create_pool(
            asyncpg_dsn(self.settings.listen_url(self.database_url)),
            min_size=1,
            max_size=3,
            command_timeout=60,
            reset=_keep_session,
        )
        engine = create_engine(
            self.database_url,
            pool_size=self.concurrency,
            max_overflow=2,
            behind_pooler=self.settings.behind_pooler(self.database_url),
        )
        # Its AUTOCOMMIT engine, made once and held while the worker runs (core.db.read_engine_of
        # keeps it only while something does): the captured e-mails' single statements use it.
        autocommit = read_engine_of(engine)
        try:
            resources = Resources(self.settings, engine, self.payments, mailer(self.settings))
            pgq = PgQueuer.from_asyncpg_pool(pool)
            for name, handler in handlers(resources).items():
                pgq.entrypoint(name, on_failure="hold", executor_factory=self._retrying)(
                    counting_failures(name, handler)
                )  # type: ignore[arg-type]
            for name, (expression, task) in schedule(resources).items():
                pgq.schedule(name, expression)(_scheduled(task))
            self._pgq = pgq
            if self._stopping:
                return
            batch = max(1, self.concurrency // 2)
            await pgq.run(
                batch_size=batch,
                max_concurrent_tasks=2 * batch,
                dequeue_timeout=timedelta(seconds=10),
                heartbeat_timeout=timedelta(seconds=self.settings.job_heartbeat_timeout),
            )
        finally:
            del autocommit
            await engine.dispose()
            await pool.close()

    def stop(self) -> None:
        self._stopping = True
        if self._pgq is not None:
            self._pgq.shutdown.set()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg's own reset on release is four statements (CLOSE ALL, UNLISTEN *, advisory unlocks,
    RESET ALL) for every job query pgqueuer runs, a dozen per order: this pool's only user sets
    none of those. An open transaction is still rolled back by asyncpg before this is called."""


def _scheduled(task: Any) -> Any:
    async def run(schedule: object) -> None:
        await task()

    return run


@contextlib.asynccontextmanager
async def running_worker(
    settings: Settings, database_url: str, payments: PaymentProvider, *, concurrency: int = 4
) -> Any:
    """A worker running on the current event loop for the duration of the block (for `serve`)."""
    worker = Worker(settings, database_url, payments, concurrency=concurrency)
    task = asyncio.create_task(worker.run(), name="job worker")
    try:
        yield worker
    finally:
        worker.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=30)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:
            logger.exception("the job worker failed")
