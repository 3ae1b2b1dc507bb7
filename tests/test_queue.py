"""The job queue's enqueue is part of the caller's transaction, whatever came before it in there."""

from __future__ import annotations

from core.queue import enqueue
from tests.support import own_engine, sql


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
