"""Writing the catalog as CSV in the import format (domain.catalog_csv), streamed by PostgreSQL."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog_csv import export_header
from models.catalog_export_repository import attribute_columns, copy_export, variant_count


async def export_catalog(
    engine: AsyncEngine, out: TextIO, progress: Callable[[int], None] | None = None
) -> int:
    """Write every variant (with its product's columns) to `out`; how many rows were written.

    PostgreSQL formats the rows (COPY ... TO STDOUT, CSV) and streams them: memory stays that of a
    buffer, and one REPEATABLE READ transaction makes the file one consistent picture of the
    catalog."""
    writer = csv.writer(out, lineterminator="\n")
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0

    async def write(data: bytes) -> None:
        nonlocal lines
        out.write(decoder.decode(data))
        lines += data.count(b"\n")  # rows, give or take descriptions of several lines
        if progress:
            progress(lines)

    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            product_attributes, variant_attributes = await attribute_columns(conn)
            writer.writerow(export_header(product_attributes, variant_attributes))
            written = await variant_count(conn)
            await copy_export(conn, product_attributes, variant_attributes, write)
    out.write(decoder.decode(b"", final=True))
    if progress:
        progress(written)
    return written


async def count_variants(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await variant_count(conn)
