"""The job queue: its enqueue is part of the caller's transaction, whatever came before it in
there; only new work wakes the workers."""

from __future__ import annotations

import json

import asyncpg

from core.queue import enqueue
from jobs.worker import asyncpg_dsn
from tests.support import eventually, own_engine, sql


async def test_a_job_enqueued_first_in_a_transaction_rolls_back_with_it(database_url: str) -> None:
    engine = own_engine(database_url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await enqueue(conn, "probe_rolled_back", {"n": 1})  # the transaction's first statement
            await transaction.rollback()
            async with conn.begin():
                await enqueue(conn, "probe_committed", {"n": 2})
    finally:
        await engine.dispose()
    rows = await sql(
        database_url,
        "SELECT entrypoint FROM pgqueuer WHERE entrypoint LIKE 'probe_%' ORDER BY entrypoint",
    )
    assert [row.entrypoint for row in rows] == ["probe_committed"]


async def test_new_work_wakes_the_workers_and_a_finished_job_does_not(direct_database_url: str) -> None:
    """pgqueuer's change notification (migration 0017): an enqueue sends one, pgqueuer deleting a
    finished job (as it does when logging it) sends none, so no worker wakes for nothing."""
    heard: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(direct_database_url))
    try:
        await listener.add_listener(
            "ch_pgqueuer", lambda *args: heard.append(json.loads(args[3])["operation"])
        )
        await listener.execute(
            "INSERT INTO pgqueuer (priority, entrypoint, payload, status) VALUES (0, 'probe_notify', NULL, 'queued')"
        )
        await eventually(lambda: heard == ["insert"], message="the enqueue's notification")
        await listener.execute("DELETE FROM pgqueuer WHERE entrypoint = 'probe_notify'")
        # A notification sent on commit arrives before the answer to a later statement.
        await listener.execute("SELECT pg_notify('ch_pgqueuer', '{\"operation\": \"fence\"}')")
        await eventually(lambda: heard[-1:] == ["fence"], message="the fence")
    finally:
        await listener.close()
    assert heard == ["insert", "fence"]
