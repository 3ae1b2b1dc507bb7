"""Reads of attributes for the storefront: by id, and the values products and variants carry.

Each takes many keys at once, for the GraphQL layer's DataLoaders (one statement per batch).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(slots=True, frozen=True)
class AttributeValueRow:
    id: int
    slug: str
    name: str


@dataclass(slots=True, frozen=True)
class AttributeRow:
    id: int
    slug: str
    name: str
    input_type: str
    values: list[AttributeValueRow] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class SelectedRow:
    """The values an item has for one attribute."""

    attribute_id: int
    values: list[AttributeValueRow]


async def attributes_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, AttributeRow]:
    result = await conn.execute(
        text(
            """
            SELECT a.id, a.slug, a.name, a.input_type,
                   v.id AS value_id, v.slug AS value_slug, v.name AS value_name
            FROM attributes a LEFT JOIN attribute_values v ON v.attribute_id = a.id
            WHERE a.id = ANY(CAST(:ids AS bigint[]))
            ORDER BY a.id, v.position, v.id
            """
        ),
        {"ids": list(ids)},
    )
    found: dict[int, AttributeRow] = {}
    for row in result:
        attribute = found.get(row.id)
        if attribute is None:
            attribute = found[row.id] = AttributeRow(row.id, row.slug, row.name, row.input_type)
        if row.value_id is not None:
            attribute.values.append(AttributeValueRow(row.value_id, row.value_slug, row.value_name))
    return found


async def all_attributes(conn: AsyncConnection) -> list[AttributeRow]:
    ids = list((await conn.execute(text("SELECT id FROM attributes ORDER BY position, name, id"))).scalars())
    found = await attributes_by_ids(conn, ids)
    return [found[attribute_id] for attribute_id in ids if attribute_id in found]


async def _selected(conn: AsyncConnection, owner: str, ids: Sequence[int]) -> dict[int, list[SelectedRow]]:
    assert owner in ("product", "variant")
    result = await conn.execute(
        text(
            f"""
            SELECT i.{owner}_id AS item_id, i.attribute_id, v.id, v.slug, v.name
            FROM {owner}_attribute_values i
            JOIN attribute_values v ON v.id = i.value_id
            JOIN attributes a ON a.id = i.attribute_id
            WHERE i.{owner}_id = ANY(CAST(:ids AS bigint[]))
            ORDER BY i.{owner}_id, a.position, a.name, a.id, v.position, v.id
            """  # noqa: S608  (owner is one of two constants)
        ),
        {"ids": list(ids)},
    )
    grouped: dict[int, list[SelectedRow]] = defaultdict(list)
    for row in result:
        selected = grouped[row.item_id]
        if not selected or selected[-1].attribute_id != row.attribute_id:
            selected.append(SelectedRow(row.attribute_id, []))
        selected[-1].values.append(AttributeValueRow(row.id, row.slug, row.name))
    return grouped


async def selected_of_products(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, list[SelectedRow]]:
    return await _selected(conn, "product", ids)


async def selected_of_variants(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, list[SelectedRow]]:
    return await _selected(conn, "variant", ids)
