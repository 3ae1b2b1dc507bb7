"""import-catalog and export-catalog (main.py): the files, and a progress bar with rate and ETA
when the output is a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from core.db import create_engine
from domain.catalog_export import count_variants, export_catalog
from domain.catalog_import import ImportReport, import_catalog


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows, {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not sys.stderr.isatty(),
        console=None,
        transient=False,
    )


def _lines(stream: BinaryIO, read: list[int]) -> Iterator[str]:
    """The file's lines as text (UTF-8), counting the bytes read so far into read[0]."""
    for raw in stream:
        read[0] += len(raw)
        yield raw.decode("utf-8")


async def import_file(
    database_url: str, path: Path, *, dry_run: bool, partial: bool, behind_pooler: bool = False
) -> ImportReport:
    engine = create_engine(database_url, pool_size=1, behind_pooler=behind_pooler)
    read = [0]
    try:
        with path.open("rb") as stream, _bar() as bar:
            size = os.fstat(stream.fileno()).st_size
            task = bar.add_task("importing", total=size or 1, rows=0, rate=0.0)

            def progress(rows: int) -> None:
                elapsed = bar.tasks[0].elapsed or 0
                bar.update(task, completed=read[0], rows=rows, rate=rows / elapsed if elapsed else 0.0)

            return await import_catalog(
                engine, _lines(stream, read), dry_run=dry_run, partial=partial, progress=progress
            )
    finally:
        await engine.dispose()


async def export_file(database_url: str, path: Path, *, behind_pooler: bool = False) -> int:
    engine = create_engine(database_url, pool_size=1, behind_pooler=behind_pooler)
    try:
        total = await count_variants(engine)
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
            bar = stack.enter_context(_bar())
            task = bar.add_task("exporting", total=total or 1, rows=0, rate=0.0)

            def progress(rows: int) -> None:
                elapsed = bar.tasks[0].elapsed or 0
                bar.update(task, completed=rows, rows=rows, rate=rows / elapsed if elapsed else 0.0)

            return await export_catalog(engine, out, progress)
    finally:
        await engine.dispose()
