"""A product's JSON text built by PostgreSQL, key by key as a template asks (issue 18, point 7).

The page statement (models.product_page) can return, instead of a product's columns, its JSON
text: the objects of the template, in its order, compact (no spaces), with strings escaped by
PostgreSQL's `to_json` (which escapes what orjson escapes: quote, backslash and the control
characters, leaving other characters as UTF-8). The caller splices that text into its answer
instead of building and serialising objects.

A template is a tuple of `Part`s, each a key of the JSON object and what goes there: a field of
the object (one of the names in `FIELDS` for its kind, with the template of a nested object or
list's items as its value), or a constant (field "", value its JSON text). Keys and constants
become SQL string literals, so the SQL text is fixed by the template, which is part of the page's
shape (compiled once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Integer, String, Text, bindparam, case, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import ColumnElement

from models.catalog_repository import categories, products, storable, variants
from models.compiled import Reads, compiled_read, fetch


class Part(NamedTuple):
    key: str  # the key in the JSON object
    field: str  # a field of the object's kind (FIELDS), or "" for a constant
    value: Any = None  # a constant's JSON text, or a nested object's parts


Template = tuple[Part, ...]

# The fields of each kind of object, and the kind of the nested ones.
FIELDS: Mapping[str, Mapping[str, str | None]] = {
    "product": {
        "id": None,
        "slug": None,
        "name": None,
        "description": None,
        "in_stock": None,
        "images": "image",
        "price_range": "price_range",
        "category": "category",
        "variants": "variant",
    },
    "image": {"url": None, "alt": None},
    "price_range": {"min": "money", "max": "money"},
    "money": {"amount": None},
    "category": {"id": None, "name": None, "slug": None},
    "variant": {"id": None, "sku": None, "name": None, "price": "money", "quantity_available": None},
}

Build = Callable[[Any], ColumnElement[str]]


def product_json(template: Template) -> ColumnElement[str]:
    """The JSON text of the product of the enclosing statement's `products` row."""
    t = products
    return _object(
        template,
        {
            "id": lambda _: _global_id("Product", t.c.id),
            "slug": lambda _: _string(t.c.slug),
            "name": lambda _: _string(t.c.name),
            "description": lambda _: _string(t.c.description),
            "in_stock": lambda _: _boolean(t.c.in_stock),
            "images": _images,
            "price_range": lambda parts: _object(
                parts,
                {
                    "min": lambda money: _money(money, t.c.min_price),
                    "max": lambda money: _money(money, t.c.max_price),
                },
            ),
            "category": _category,
            "variants": _variants,
        },
    )


def _sql_text(text: str) -> ColumnElement[str]:
    """A string literal of the SQL text (standard_conforming_strings: only quotes are doubled)."""
    if "\x00" in text or "\\" in text:
        raise ValueError("a JSON key or constant of a template holds a backslash or NUL")
    return literal_column("'" + text.replace("'", "''") + "'", Text)


def _object(parts: Template, fields: Mapping[str, Build]) -> ColumnElement[str]:
    pieces: list[ColumnElement[str]] = []
    pending = "{"
    for index, part in enumerate(parts):
        pending += ("," if index else "") + orjson.dumps(part.key).decode() + ":"
        if not part.field:
            pending += part.value
            continue
        pieces += [_sql_text(pending), fields[part.field](part.value)]
        pending = ""
    pieces.append(_sql_text(pending + "}"))
    # concat would read a NULL as "": every field's text is made non-null ('null' for a NULL value).
    return func.concat(*pieces, type_=Text) if len(pieces) > 1 else pieces[0]


def _string(column: Any) -> ColumnElement[str]:
    return func.coalesce(cast(func.to_json(column), Text), _sql_text("null"))


def _integer(column: Any) -> ColumnElement[str]:
    return func.coalesce(cast(column, Text), _sql_text("null"))


def _boolean(column: Any) -> ColumnElement[str]:
    return case((column, _sql_text("true")), (~column, _sql_text("false")), else_=_sql_text("null"))


def _global_id(type_name: str, column: Any) -> ColumnElement[str]:
    """graph.ids.to_global_id in SQL: base64 of `Type:pk` (short: no line breaks), quoted."""
    text = _sql_text(f"{type_name}:").op("||")(cast(column, Text))
    encoded = func.encode(func.convert_to(text, _sql_text("UTF8")), _sql_text("base64"))
    return func.concat(_sql_text('"'), encoded, _sql_text('"'), type_=Text)


def _money(parts: Template, amount: Any) -> ColumnElement[str]:
    return _object(parts, {"amount": lambda _: _integer(amount)})


def _list(item: ColumnElement[str], order: list[Any], source: Any, *conditions: Any) -> ColumnElement[str]:
    """`[item, ...]` over the rows of `source` in `order` (`[]` for none)."""
    items = func.string_agg(item, aggregate_order_by(_sql_text(","), *order), type_=Text)
    aggregate = select(func.concat(_sql_text("["), items, _sql_text("]"), type_=Text))
    return aggregate.select_from(source).where(*conditions).scalar_subquery()


def _images(parts: Template) -> ColumnElement[str]:
    element = func.jsonb_array_elements(products.c.images).table_valued("value", with_ordinality="ordinality")
    element = element.render_derived("image", with_types=False)
    item = _object(
        parts,
        {
            "url": lambda _: _string(element.c.value.op("->>")(_sql_text("url"))),
            "alt": lambda _: _string(element.c.value.op("->>")(_sql_text("alt"))),
        },
    )
    return _list(item, [element.c.ordinality], element)


def _category(parts: Template) -> ColumnElement[str]:
    c = categories.alias("json_category")
    item = _object(
        parts,
        {
            "id": lambda _: _global_id("Category", c.c.id),
            "name": lambda _: _string(c.c.name),
            "slug": lambda _: _string(c.c.slug),
        },
    )
    found = select(item).where(c.c.id == products.c.category_id).scalar_subquery()
    return func.coalesce(found, _sql_text("null"))


def _variants(parts: Template) -> ColumnElement[str]:
    v = variants.alias("json_variant")
    available = func.greatest(v.c.stock - v.c.reserved, cast(literal_column("0"), Integer))
    item = _object(
        parts,
        {
            "id": lambda _: _global_id("ProductVariant", v.c.id),
            "sku": lambda _: _string(v.c.sku),
            "name": lambda _: _string(v.c.name),
            "price": lambda money: _money(money, v.c.price),
            "quantity_available": lambda _: _integer(available),
        },
    )
    return _list(item, [v.c.position, v.c.id], v, v.c.product_id == products.c.id, v.c.deleted_at.is_(None))


async def product_json_by_slug(conn: Reads, slug: str, template: Template) -> tuple[int, str] | None:
    """The id and JSON text of the live product with this slug, or None (as `products_by_slugs`)."""
    if not storable(slug):
        return None

    def build() -> Any:
        node = product_json(template).label("node_json")
        return select(products.c.id, node).where(
            products.c.slug == bindparam("slug", type_=String), products.c.is_active
        )

    read = compiled_read(conn, ("product_json_by_slug", template), build, ["slug"])
    rows = await fetch(conn, read, {"slug": slug})
    return (rows[0]["id"], rows[0]["node_json"]) if rows else None
