"""Typed attributes (brand, colour, size, material...) and their values on products and variants.

Part of the one catalog write path (re-exported by domain.catalog_admin, whose conventions hold:
a connection in the caller's transaction, the changed record back or `Rejected`).

- `create_attribute(conn, *, name, slug=None, input_type="DROPDOWN", values=(), position=0)`:
  `values` are (name, slug or None) pairs. DROPDOWN, SWATCH and BOOLEAN hold one value per item,
  MULTISELECT several.
- `add_attribute_value(conn, attribute_id, *, name, slug=None, position=None)`
- `set_product_attribute_values(conn, product_id, {attribute slug: [value slugs]}, create_missing=False)`
  and `set_variant_attribute_values(...)`: each attribute named gets exactly these values (an empty
  list clears it); attributes not named are left alone. With `create_missing`, unknown value slugs
  are added to their attribute (named like their slug, for importers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import catalog_rules as rules
from domain.catalog_constraints import translated
from domain.errors import CatalogCode, Problem, Rejected
from models import catalog_admin_repository as repo
from models.catalog_admin import INPUT_TYPES
from models.catalog_admin_repository import (
    AttributeRecord,
    AttributeValueRecord,
    ProductRecord,
    VariantRecord,
)

SINGLE_VALUED = ("DROPDOWN", "SWATCH", "BOOLEAN")
MAX_ATTRIBUTES_PER_CALL = 50


def _raise_if(problems: Sequence[Problem]) -> None:
    if problems:
        raise Rejected(problems)


async def find_attribute(conn: AsyncConnection, slug: str) -> AttributeRecord | None:
    return (await repo.attributes_by_slugs(conn, [slug])).get(slug) if rules.printable(slug) else None


async def attribute_values(conn: AsyncConnection, attribute_id: int) -> list[AttributeValueRecord]:
    return await repo.values_of(conn, attribute_id)


def _value_problems(values: Sequence[tuple[str, str | None]]) -> list[Problem]:
    problems: list[Problem] = []
    if len(values) > rules.MAX_VALUES_PER_CALL:
        return [
            Problem(
                CatalogCode.TOO_MANY_ITEMS,
                f"At most {rules.MAX_VALUES_PER_CALL} values at a time.",
                ("values",),
            )
        ]
    seen: set[str] = set()
    for index, (name, slug) in enumerate(values):
        slug = rules.slugify(name) if slug is None else slug
        problems += rules.name_problems(name, ("values", str(index), "name"))
        problems += rules.slug_problems(slug, ("values", str(index), "slug"))
        if slug in seen:
            problems.append(
                Problem(CatalogCode.SLUG_TAKEN, "Two values have this slug.", ("values", str(index), "slug"))
            )
        seen.add(slug)
    return problems


@translated
async def create_attribute(
    conn: AsyncConnection,
    *,
    name: str,
    slug: str | None = None,
    input_type: str = "DROPDOWN",
    values: Sequence[tuple[str, str | None]] = (),
    position: int = 0,
) -> AttributeRecord:
    slug = rules.slugify(name) if slug is None else slug
    problems = [
        *rules.name_problems(name, ("name",)),
        *rules.slug_problems(slug, ("slug",)),
        *rules.position_problems(position, ("position",)),
        *_value_problems(values),
    ]
    if input_type not in INPUT_TYPES:
        problems.append(
            Problem(
                CatalogCode.INVALID_INPUT_TYPE,
                f"An input type is one of {', '.join(INPUT_TYPES)}.",
                ("input_type",),
            )
        )
    _raise_if(problems)
    if await repo.slug_taken(conn, "attributes", slug):
        raise Rejected([Problem(CatalogCode.SLUG_TAKEN, "Another attribute has this slug.", ("slug",))])
    try:
        created = await repo.insert_attribute(
            conn, {"slug": slug, "name": name.strip(), "input_type": input_type, "position": position}
        )
    except IntegrityError:
        raise Rejected(
            [Problem(CatalogCode.SLUG_TAKEN, "Another attribute has this slug.", ("slug",))]
        ) from None
    for index, (value_name, value_slug) in enumerate(values):
        await repo.insert_value(
            conn,
            {
                "attribute_id": created.id,
                "slug": rules.slugify(value_name) if value_slug is None else value_slug,
                "name": value_name.strip(),
                "position": index,
            },
        )
    return created


@translated
async def add_attribute_value(
    conn: AsyncConnection,
    attribute_id: int,
    *,
    name: str,
    slug: str | None = None,
    position: int | None = None,
) -> AttributeValueRecord:
    slug = rules.slugify(name) if slug is None else slug
    problems = [
        *rules.name_problems(name, ("name",)),
        *rules.slug_problems(slug, ("slug",)),
        *rules.position_problems(position, ("position",)),
    ]
    _raise_if(problems)
    if await repo.attribute(conn, attribute_id) is None:
        raise Rejected(
            [Problem(CatalogCode.ATTRIBUTE_NOT_FOUND, "There is no such attribute.", ("attribute_id",))]
        )
    if any(value.slug == slug for value in await repo.values_of(conn, attribute_id)):
        raise Rejected(
            [Problem(CatalogCode.SLUG_TAKEN, "The attribute has a value with this slug.", ("slug",))]
        )
    try:
        return await repo.insert_value(
            conn, {"attribute_id": attribute_id, "slug": slug, "name": name.strip(), "position": position}
        )
    except IntegrityError:
        raise Rejected(
            [Problem(CatalogCode.SLUG_TAKEN, "The attribute has a value with this slug.", ("slug",))]
        ) from None


async def _set_values(
    conn: AsyncConnection,
    owner: str,
    item_id: int,
    wanted: Mapping[str, Sequence[str]],
    create_missing: bool,
) -> None:
    if len(wanted) > MAX_ATTRIBUTES_PER_CALL:
        raise Rejected(
            [
                Problem(
                    CatalogCode.TOO_MANY_ITEMS,
                    f"At most {MAX_ATTRIBUTES_PER_CALL} attributes at a time.",
                    ("attributes",),
                )
            ]
        )
    found = await repo.attributes_by_slugs(conn, [slug for slug in wanted if rules.printable(slug)])
    problems: list[Problem] = []
    plan: list[tuple[AttributeRecord, list[int]]] = []
    for index, (attribute_slug, value_slugs) in enumerate(wanted.items()):
        field = ("attributes", str(index))
        attribute = found.get(attribute_slug)
        if attribute is None:
            problems.append(
                Problem(CatalogCode.ATTRIBUTE_NOT_FOUND, "There is no such attribute.", (*field, "attribute"))
            )
            continue
        value_slugs = list(dict.fromkeys(value_slugs))
        if len(value_slugs) > (1 if attribute.input_type in SINGLE_VALUED else rules.MAX_VALUES_PER_CALL):
            problems.append(
                Problem(
                    CatalogCode.TOO_MANY_VALUES,
                    f"{attribute.name} takes one value ({attribute.input_type})."
                    if attribute.input_type in SINGLE_VALUED
                    else f"At most {rules.MAX_VALUES_PER_CALL} values.",
                    (*field, "values"),
                )
            )
            continue
        existing = {value.slug: value.id for value in await repo.values_of(conn, attribute.id)}
        ids: list[int] = []
        for value_slug in value_slugs:
            if value_slug in existing:
                ids.append(existing[value_slug])
            elif create_missing and not rules.slug_problems(value_slug, ()):
                created = await repo.insert_value(
                    conn,
                    {"attribute_id": attribute.id, "slug": value_slug, "name": value_slug, "position": None},
                )
                existing[value_slug] = created.id
                ids.append(created.id)
            else:
                problems.append(
                    Problem(
                        CatalogCode.ATTRIBUTE_VALUE_NOT_FOUND,
                        f"{attribute.name} has no value {value_slug!r}."[:300],
                        (*field, "values"),
                    )
                )
        plan.append((attribute, ids))
    _raise_if(problems)
    for attribute, ids in plan:
        await repo.replace_item_values(conn, owner, item_id, attribute.id, ids)


@translated
async def set_product_attribute_values(
    conn: AsyncConnection,
    product_id: int,
    wanted: Mapping[str, Sequence[str]],
    *,
    create_missing: bool = False,
) -> ProductRecord:
    product = await repo.product(conn, product_id, lock=True)
    if product is None:
        raise Rejected([Problem(CatalogCode.NOT_FOUND, "There is no such product.", ("product_id",))])
    await _set_values(conn, "product", product_id, wanted, create_missing)
    return product


@translated
async def set_variant_attribute_values(
    conn: AsyncConnection,
    variant_id: int,
    wanted: Mapping[str, Sequence[str]],
    *,
    create_missing: bool = False,
) -> VariantRecord:
    variant = await repo.variant(conn, variant_id, lock=True)
    if variant is None:
        raise Rejected([Problem(CatalogCode.NOT_FOUND, "There is no such variant.", ("variant_id",))])
    await _set_values(conn, "variant", variant_id, wanted, create_missing)
    return variant
