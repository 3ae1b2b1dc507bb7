"""Catalog imports uploaded over HTTP: stored, run by a job, followed by staff.

`start_import_run` stores the file and enqueues the `import_catalog` job in the same transaction
(core.queue: the job exists if and only if the upload does); `run_import` (the job) runs
domain.catalog_import on it, writing the rows read so far after each chunk on a connection of its
own, so that `import_run` shows progress while the import's own transaction is still open. A
job redelivered after its run ended does nothing; one that died half-way runs the file again
(the import is one transaction and idempotent, so nothing is applied twice).
"""

from __future__ import annotations

import io
from dataclasses import asdict

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from core.queue import enqueue
from domain.catalog_import import ImportReport, import_catalog
from models import catalog_import_runs as repo
from models.catalog_import_runs import ImportRunRow

__all__ = [
    "IMPORT_CATALOG",
    "ImportRunRow",
    "import_run",
    "recent_import_runs",
    "run_import",
    "start_import_run",
]

IMPORT_CATALOG = "import_catalog"


async def start_import_run(
    engine: AsyncEngine,
    *,
    content: bytes,
    filename: str,
    dry_run: bool,
    partial: bool,
    actor_user_id: int | None,
) -> int:
    async with engine.begin() as conn:
        run_id = await repo.insert_run(
            conn,
            created_by=actor_user_id,
            filename=filename[:200],
            content=content,
            dry_run=dry_run,
            partial=partial,
        )
        await enqueue(conn, IMPORT_CATALOG, {"run_id": run_id}, dedupe_key=f"catalog-import-{run_id}")
    return run_id


def _lines(content: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(content), encoding="utf-8", newline="")


def report_json(report: ImportReport) -> str:
    data = asdict(report)
    data["variants_unchanged"] = report.variants_unchanged
    data["summary"] = report.summary()
    return orjson.dumps(data).decode()


async def run_import(engine: AsyncEngine, run_id: int) -> None:
    async with engine.begin() as conn:
        claimed = await repo.claim_run(conn, run_id)
    if claimed is None:
        return
    run, content = claimed

    async def progress(rows: int) -> None:
        async with engine.begin() as conn:
            await repo.set_rows_read(conn, run_id, rows)

    try:
        report = await import_catalog(
            engine,
            _lines(content),
            dry_run=run.dry_run,
            partial=run.partial,
            progress=progress,
            actor_user_id=run.created_by,
        )
    except UnicodeDecodeError:
        async with engine.begin() as conn:
            await repo.finish_run(
                conn, run_id, status="failed", rows=0, report=None, error="The file is not UTF-8 text."
            )
        return
    async with engine.begin() as conn:
        await repo.finish_run(
            conn, run_id, status="done", rows=report.rows, report=report_json(report), error=None
        )


async def import_run(engine: AsyncEngine, run_id: int) -> ImportRunRow | None:
    async with engine.connect() as conn:
        return await repo.run_by_id(conn, run_id)


async def recent_import_runs(engine: AsyncEngine, limit: int = 20) -> list[ImportRunRow]:
    async with engine.connect() as conn:
        return await repo.recent_runs(conn, limit)
