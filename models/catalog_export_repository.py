"""The catalog export's reads (domain.catalog_export): the attribute columns in use, the count, and
the whole export as one query that PostgreSQL formats as CSV and streams (COPY ... TO STDOUT)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def attribute_columns(conn: AsyncConnection) -> tuple[list[str], list[str]]:
    """The slugs of the attributes products have values of, and of those variants have."""
    products = await conn.execute(
        text(
            "SELECT a.slug FROM attributes a WHERE EXISTS"
            " (SELECT 1 FROM product_attribute_values x WHERE x.attribute_id = a.id)"
            " ORDER BY a.position, a.slug"
        )
    )
    variants = await conn.execute(
        text(
            "SELECT a.slug FROM attributes a WHERE EXISTS"
            " (SELECT 1 FROM variant_attribute_values x WHERE x.attribute_id = a.id)"
            " ORDER BY a.position, a.slug"
        )
    )
    return [row.slug for row in products], [row.slug for row in variants]


async def variant_count(conn: AsyncConnection) -> int:
    return (
        await conn.execute(
            text(
                "SELECT count(*) FROM product_variants v JOIN products p ON p.id = v.product_id"
                " WHERE v.deleted_at IS NULL AND p.deleted_at IS NULL"
            )
        )
    ).scalar_one()


_PRODUCT_VALUES = """(SELECT jsonb_object_agg(x.slug, x.values) FROM (
    SELECT a.slug, string_agg(av.slug, '|' ORDER BY av.position, av.id) AS values
    FROM product_attribute_values pav
    JOIN attribute_values av ON av.id = pav.value_id
    JOIN attributes a ON a.id = pav.attribute_id
    WHERE pav.product_id = p.id GROUP BY a.slug) x)"""
_VARIANT_VALUES = """(SELECT jsonb_object_agg(x.slug, x.values) FROM (
    SELECT a.slug, string_agg(av.slug, '|' ORDER BY av.position, av.id) AS values
    FROM variant_attribute_values vav
    JOIN attribute_values av ON av.id = vav.value_id
    JOIN attributes a ON a.id = vav.attribute_id
    WHERE vav.variant_id = v.id GROUP BY a.slug) x)"""


def _export_query(product_attributes: Sequence[str], variant_attributes: Sequence[str]) -> str:
    """The whole export as one query, formatted by PostgreSQL (the columns of
    domain.catalog_csv.export_header), by product then position."""
    own = [f"coalesce(pa.values ->> {_literal(slug)}, '')" for slug in product_attributes]
    variant_own = [f"coalesce(va.values ->> {_literal(slug)}, '')" for slug in variant_attributes]
    product_values = _PRODUCT_VALUES if product_attributes else "NULL::jsonb"
    variant_values = _VARIANT_VALUES if variant_attributes else "NULL::jsonb"
    columns = ", ".join(
        [
            "p.slug",
            "p.name",
            "p.description",
            "coalesce(c.slug, '')",
            "coalesce(c.name, '')",
            "CASE WHEN p.is_active THEN 'true' ELSE 'false' END",
            "(SELECT coalesce(string_agg(CASE WHEN coalesce(i ->> 'alt', '') = '' THEN i ->> 'url'"
            " ELSE (i ->> 'url') || ' ' || (i ->> 'alt') END, ' | ' ORDER BY n), '')"
            " FROM jsonb_array_elements(p.images) WITH ORDINALITY AS e(i, n))",
            "v.sku",
            "v.name",
            "v.price",
            "v.stock",
            "v.position",
            *own,
            *variant_own,
        ]
    )
    return (
        f"SELECT {columns} FROM product_variants v"  # noqa: S608 (constants, and slugs as literals)
        " JOIN products p ON p.id = v.product_id"
        " LEFT JOIN categories c ON c.id = p.category_id"
        f" LEFT JOIN LATERAL (SELECT {product_values} AS values) pa ON true"
        f" LEFT JOIN LATERAL (SELECT {variant_values} AS values) va ON true"
        " WHERE v.deleted_at IS NULL AND p.deleted_at IS NULL"
        " ORDER BY v.product_id, v.position, v.id"
    )


def _literal(slug: str) -> str:
    assert slug.replace("-", "").isalnum() and slug.isascii(), (
        slug
    )  # attribute slugs (domain.catalog_rules.SLUG)
    return f"'{slug}'"


async def copy_export(
    conn: AsyncConnection,
    product_attributes: Sequence[str],
    variant_attributes: Sequence[str],
    write: Callable[[bytes], Awaitable[None]],
) -> None:
    """Stream the export as CSV (PostgreSQL's COPY, no header) to `write`, in the caller's transaction."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_from_query(  # type: ignore[union-attr]
        _export_query(product_attributes, variant_attributes), output=write, format="csv"
    )
