"""Writing the catalog as CSV in the import format (domain.catalog_csv): streaming, in batches."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog_csv import export_header, export_record
from models.catalog_import_repository import attribute_columns, export_rows, variant_count


async def export_catalog(
    engine: AsyncEngine, out: TextIO, progress: Callable[[int], None] | None = None
) -> int:
    """Write every variant (with its product's columns) to `out`; how many rows were written."""
    writer = csv.writer(out, lineterminator="\n")
    written = 0
    # One REPEATABLE READ transaction: the file is one consistent picture of the catalog.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            product_attributes, variant_attributes = await attribute_columns(conn)
            writer.writerow(export_header(product_attributes, variant_attributes))
            async for rows in export_rows(
                conn, product_attributes=bool(product_attributes), variant_attributes=bool(variant_attributes)
            ):
                writer.writerows(export_record(row, product_attributes, variant_attributes) for row in rows)
                written += len(rows)
                if progress:
                    progress(written)
    return written


async def count_variants(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await variant_count(conn)
