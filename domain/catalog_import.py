"""Loading a catalog CSV (domain.catalog_csv) into the database: idempotent, streaming, all or nothing.

Rows are read as they stream and written in chunks of CHUNK rows, each chunk a handful of
set-based statements (models.catalog_import_repository), all in one transaction: a file with a
rejected row changes nothing (unless `partial`: then every row that passes is imported and the
rejected ones are reported), and a dry run rolls everything back after counting what would
change. Products are matched by slug and variants by SKU; values that are the same are not
written, so importing the same file again changes nothing. A row is never half imported: its
product and its variant go in together or it is rejected whole.

The rules are those of the catalog write path: prices and stock whole numbers of 0 or more, stock
never below what open checkouts hold (those variants are locked until the import commits), a SKU
stays with its product; the tables' check constraints back them all. Repeated SKUs and rows of
one product that disagree are caught across the whole file with scratch tables in the database,
so memory stays that of one chunk however big the file is.
"""

from __future__ import annotations

import csv
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.catalog_csv import ImportRow, RowError, header_problem, parse_row
from models import catalog_import_repository as repo

CHUNK = 2_000
LEDGER_NOTE = "catalog import"
MAX_REPORTED = 1_000
csv.field_size_limit(1_000_000)


@dataclass(slots=True, frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    attribute_values_changed: int = 0
    rejected_count: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)  # the first MAX_REPORTED
    dry_run: bool = False
    applied: bool = False  # whether the changes were committed

    @property
    def variants_unchanged(self) -> int:
        return self.rows - self.rejected_count - self.variants_created - self.variants_updated

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(RejectedRow(line, reason))

    def summary(self) -> str:
        verb = "would be" if not self.applied else "were"
        head = (
            f"{self.rows} row(s): products {self.products_created} created, {self.products_updated} updated;"
            f" variants {self.variants_created} created, {self.variants_updated} updated,"
            f" {self.variants_unchanged} unchanged; attribute values {self.attribute_values_changed} changed;"
            f" {self.rejected_count} rejected"
        )
        if self.dry_run:
            return f"dry run, nothing written: {head}"
        if not self.applied:
            return f"nothing imported (the file has rejected rows; --partial imports the others): {head}"
        return f"{head} (changes {verb} committed)"


Progress = Callable[[int], Awaitable[None] | None]  # rows read so far


def records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]] | RejectedRow]:
    """The rows of a CSV text stream as (line, record), or a RejectedRow for a bad header or a row
    with the wrong number of cells (a bad header ends the stream)."""
    reader = csv.reader(lines)
    try:
        header = next(reader, [])
    except (csv.Error, UnicodeDecodeError) as error:
        yield RejectedRow(1, f"not a CSV file: {error}")
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if problem := header_problem(header):
        yield RejectedRow(1, problem)
        return
    names = [name.strip() for name in header]
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            yield RejectedRow(reader.line_num + 1, f"not valid UTF-8 CSV: {error}")
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            yield RejectedRow(reader.line_num, f"{len(cells)} cells where the header has {len(names)}")
            continue
        yield reader.line_num, dict(zip(names, cells, strict=True))


async def import_catalog(
    engine: AsyncEngine,
    lines: Iterable[str],
    *,
    dry_run: bool = False,
    partial: bool = False,
    progress: Progress | None = None,
    actor_user_id: int | None = None,
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            await repo.start_import(conn)
            attributes: Attributes = {}
            chunk: list[ImportRow] = []
            for item in records(lines):
                if isinstance(item, RejectedRow):
                    report.rows += item.line != 1  # a bad header is no row
                    report.reject(item.line, item.reason)
                    continue
                line, record = item
                report.rows += 1
                try:
                    chunk.append(parse_row(line, record))
                except RowError as error:
                    report.reject(line, str(error))
                if len(chunk) >= CHUNK:
                    await _write_chunk(conn, chunk, report, actor_user_id, attributes)
                    chunk = []
                    await _report_progress(progress, report.rows)
            if chunk:
                await _write_chunk(conn, chunk, report, actor_user_id, attributes)
            await _report_progress(progress, report.rows)
            report.rejected.sort(key=lambda rejected: rejected.line)
            keep = not dry_run and (partial or report.rejected_count == 0)
            if keep:
                await transaction.commit()
                report.applied = True
            else:
                await transaction.rollback()
        except BaseException:
            if transaction.is_active:
                await transaction.rollback()
            raise
    return report


Attributes = dict[str, "repo.ImportAttribute | None"]  # by slug, looked up once per import


async def _write_chunk(
    conn: AsyncConnection,
    chunk: list[ImportRow],
    report: ImportReport,
    actor_user_id: int | None,
    attributes: Attributes,
) -> None:
    rows = _checked_in_chunk(chunk, report)
    if not rows:
        return
    repeated = await repo.repeated_skus(conn, [row.sku for row in rows], [row.line for row in rows])
    products = {row.product_slug: row for row in reversed(rows)}  # each product's first row
    differing = await repo.differing_products(
        conn,
        list(products),
        [row.product_digest for row in products.values()],
        [row.line for row in products.values()],
    )
    existing = await repo.lock_existing_variants(conn, [row.sku for row in rows])
    named = {slug for row in rows for slug, _ in (*row.product_attributes, *row.variant_attributes)}
    if unknown := [slug for slug in named if slug not in attributes]:
        attributes.update(dict.fromkeys(unknown))
        attributes.update(await repo.attributes_by_slugs(conn, unknown))
    kept: list[ImportRow] = []
    stock: dict[str, int] = {}
    for row in rows:
        reason = None
        variant = existing.get(row.sku)
        if row.sku in repeated:
            reason = f"SKU {row.sku!r} is on line {repeated[row.sku]} already"
        elif row.product_slug in differing:
            reason = _disagrees(row, differing[row.product_slug])
        elif variant is not None and variant.product_slug != row.product_slug:
            reason = f"SKU {row.sku!r} belongs to product {variant.product_slug!r}"
        elif variant is not None and row.stock is not None and row.stock < variant.reserved:
            reason = f"stock {row.stock} is below the {variant.reserved} unit(s) held by open checkouts"
        else:
            reason = _attribute_problem(row, attributes)
        if reason:
            report.reject(row.line, reason)
            continue
        kept.append(row)
        stock[row.sku] = row.stock if row.stock is not None else (variant.stock if variant else 0)
    if not kept:
        return
    products = {row.product_slug: row for row in reversed(kept)}
    categories = {row.category: row.category_name for row in products.values() if row.category}
    category_ids = (
        await repo.category_ids(conn, list(categories), list(categories.values())) if categories else {}
    )
    product_ids, upserted = await repo.upsert_products(
        conn,
        {
            "slug": list(products),
            "name": [row.product_name for row in products.values()],
            "description": [row.description for row in products.values()],
            "category_id": [
                category_ids.get(row.category) if row.category else None for row in products.values()
            ],
            "images": [row.images for row in products.values()],
            "is_active": [row.active for row in products.values()],
        },
    )
    report.products_created += upserted.inserted
    report.products_updated += upserted.updated
    variant_ids, variants = await repo.upsert_variants(
        conn,
        {
            "product_id": [product_ids[row.product_slug] for row in kept],
            "sku": [row.sku for row in kept],
            "name": [row.variant_name for row in kept],
            "price": [row.price for row in kept],
            "stock": [stock[row.sku] for row in kept],
            "position": [row.position for row in kept],
        },
    )
    report.variants_created += variants.inserted
    report.variants_updated += variants.updated
    # The inventory ledger, as domain.catalog_admin keeps it: a new variant's stock is `initial`,
    # a changed one a `correction` noted as the import's.
    movements = []
    for row in kept:
        before = existing[row.sku].stock if row.sku in existing else 0
        after = stock[row.sku]
        if after != before and row.sku in variant_ids:
            reason = "correction" if row.sku in existing else "initial"
            movements.append((variant_ids[row.sku], after - before, after, reason))
    if movements:
        await repo.record_movements(conn, movements, note=LEDGER_NOTE, actor_user_id=actor_user_id)
    ids = {sku: variant_ids.get(sku) or existing[sku].id for sku in stock}
    await _write_attributes(conn, kept, product_ids, ids, attributes, report)


SINGLE_VALUED = ("DROPDOWN", "SWATCH", "BOOLEAN")  # as domain.catalog_attributes


def _attribute_problem(row: ImportRow, attributes: Attributes) -> str | None:
    for prefix, named in (
        ("attribute", row.product_attributes),
        ("variant_attribute", row.variant_attributes),
    ):
        for slug, values in named:
            attribute = attributes.get(slug)
            if attribute is None:
                return f"{prefix}:{slug}: there is no such attribute (create it first)"
            if attribute.input_type in SINGLE_VALUED and len(values) > 1:
                return f"{prefix}:{slug}: takes one value ({attribute.input_type})"
    return None


async def _write_attributes(
    conn: AsyncConnection,
    kept: list[ImportRow],
    product_ids: dict[str, int],
    variant_ids: dict[str, int],
    attributes: Attributes,
    report: ImportReport,
) -> None:
    """Each product and variant gets exactly the values its attribute columns name (an empty cell
    clears them); values not known yet are added to their attribute."""
    known = {slug: attribute for slug, attribute in attributes.items() if attribute is not None}
    products = {row.product_slug: row for row in kept}
    owners = (
        ("product", [(product_ids[slug], row.product_attributes) for slug, row in products.items()]),
        ("variant", [(variant_ids[row.sku], row.variant_attributes) for row in kept]),
    )
    for owner, items in owners:
        named = {slug for _, pairs in items for slug, _ in pairs}
        if not named:
            continue
        needed = {(known[slug].id, value) for _, pairs in items for slug, values in pairs for value in values}
        ids = await repo.value_ids(conn, sorted(needed)) if needed else {}
        wanted = [
            (item, known[slug].id, ids[(known[slug].id, value)])
            for item, pairs in items
            for slug, values in pairs
            for value in values
        ]
        report.attribute_values_changed += await repo.replace_item_values(
            conn, owner, [item for item, _ in items], [known[slug].id for slug in named], wanted
        )


def _checked_in_chunk(chunk: list[ImportRow], report: ImportReport) -> list[ImportRow]:
    """The chunk without rows that repeat a SKU or disagree with their product's first row in it."""
    first_sku: dict[str, int] = {}
    first_product: dict[str, ImportRow] = {}
    rows: list[ImportRow] = []
    for row in chunk:
        if row.sku in first_sku:
            report.reject(row.line, f"SKU {row.sku!r} is on line {first_sku[row.sku]} already")
            continue
        product = first_product.setdefault(row.product_slug, row)
        if product.product_digest != row.product_digest:
            report.reject(
                row.line, f"product {row.product_slug!r} has other product columns on line {product.line}"
            )
            continue
        first_sku[row.sku] = row.line
        rows.append(row)
    return rows


def _disagrees(row: ImportRow, line: int) -> str:
    return f"product {row.product_slug!r} has other product columns on line {line}"


async def _report_progress(progress: Progress | None, rows: int) -> None:
    if progress is not None:
        reported = progress(rows)
        if inspect.isawaitable(reported):
            await reported
