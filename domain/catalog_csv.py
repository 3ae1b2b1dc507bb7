"""The catalog CSV format (import-catalog, export-catalog, the dashboard's upload): one row per
variant, the product's columns repeated on each of its rows. README ("Catalog CSV") documents the
columns; COLUMNS below is their order in an export.

Rows of one product must agree on the product's columns. Names, slugs, SKUs, prices, stock,
positions and images follow the rules of every catalog edit (domain.catalog_rules).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import orjson

from domain import catalog_rules as rules
from domain.errors import Problem

PRODUCT_COLUMNS = (
    "product_slug",
    "product_name",
    "description",
    "category",
    "category_name",
    "active",
    "images",
)
VARIANT_COLUMNS = ("sku", "variant_name", "price", "stock", "position")
COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS
REQUIRED = ("product_slug", "product_name", "sku", "variant_name", "price")
ATTRIBUTE_PREFIX = "attribute:"  # the product's values of an attribute (value slugs, `|` between)
VARIANT_ATTRIBUTE_PREFIX = "variant_attribute:"  # the variant's values

_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class RowError(ValueError):
    """Why a row cannot be imported (the message names the column)."""


@dataclass(slots=True, frozen=True)
class ImportRow:
    line: int
    product_slug: str
    product_name: str
    description: str
    category: str | None
    category_name: str
    active: bool
    images: str  # JSON, as products.images holds it
    sku: str
    variant_name: str
    price: int
    stock: int | None
    position: int
    product_digest: str = ""  # the product's columns in one value: rows of one product must share it
    # (attribute slug, value slugs), for the attribute columns of the file
    product_attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    variant_attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@functools.lru_cache(maxsize=1024)
def attribute_of(column: str) -> tuple[str, str] | None:
    """("product" or "variant", attribute slug) of an attribute column; None for other columns."""
    for owner, prefix in (("product", ATTRIBUTE_PREFIX), ("variant", VARIANT_ATTRIBUTE_PREFIX)):
        if column.startswith(prefix) and rules.SLUG.match(column[len(prefix) :]):
            return owner, column[len(prefix) :]
    return None


def _attribute_values(record: dict[str, str], owner: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = []
    for column, cell in record.items():
        kind = attribute_of(column)
        if kind is None or kind[0] != owner:
            continue
        values = tuple(dict.fromkeys(value.strip() for value in cell.split("|") if value.strip()))
        for value in values:
            _check(rules.slug_problems(value, (column,)), column)
        found.append((kind[1], values))
    return tuple(sorted(found))


def header_problem(header: list[str]) -> str | None:
    if not header:
        return "The file is empty."
    names = [name.strip() for name in header]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        return f"Columns repeated: {', '.join(duplicates)}."
    if missing := [name for name in REQUIRED if name not in names]:
        return f"Required columns missing: {', '.join(missing)}."
    unknown = [name for name in names if name not in COLUMNS and attribute_of(name) is None]
    if unknown:
        return f"Unknown columns: {', '.join(unknown[:10])} (the format is in README, 'Catalog CSV')."
    return None


def _check(problems: list[Problem], column: str) -> None:
    """The catalog's own rules (domain.catalog_rules, as domain.catalog_admin applies them)."""
    if problems:
        raise RowError(f"{column}: {problems[0].message}")


def _name(value: str, column: str) -> str:
    value = value.strip()
    _check(rules.name_problems(value, (column,)), column)
    return value


def _slug(value: str, column: str) -> str:
    value = value.strip()
    _check(rules.slug_problems(value, (column,)), column)
    return value


def _integer(value: str, column: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 10):
        raise RowError(f"{column}: {value[:20]!r} is not a whole number of 0 or more")
    return int(value)


def _flag(value: str) -> bool:
    value = value.strip().lower()
    if not value or value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"active: {value[:20]!r} is neither true nor false")


def parse_images(value: str) -> list[dict[str, str | None]]:
    images: list[dict[str, str | None]] = []
    for entry in value.split("|"):
        entry = entry.strip()
        if entry:
            url, _, alt = entry.partition(" ")
            images.append({"url": url, "alt": alt.strip() or None})
    _check(rules.images_problems(images, ("images",)), "images")
    return images


def _description(value: str) -> str:
    text = value.replace("\r\n", "\n").strip()
    _check(rules.description_problems(text, ("description",)), "description")
    return text


@dataclass(slots=True, frozen=True)
class _Product:
    slug: str
    name: str
    description: str
    category: str | None
    category_name: str
    active: bool
    images: str
    attributes: tuple[tuple[str, tuple[str, ...]], ...]
    digest: str


_PRODUCT_CELLS = (
    "product_slug",
    "product_name",
    "description",
    "category",
    "category_name",
    "active",
    "images",
)
# Rows of a product repeat its cells: each distinct set is checked once (a few recent ones kept).
_recent_products: dict[tuple[str, ...], _Product | RowError] = {}


def _product(record: dict[str, str]) -> _Product:
    cells = tuple(record.get(column) or "" for column in _PRODUCT_CELLS) + tuple(
        f"{column}={cell}" for column, cell in record.items() if column.startswith(ATTRIBUTE_PREFIX)
    )
    known = _recent_products.get(cells)
    if known is None:
        try:
            known = _parse_product(record)
        except RowError as error:
            known = error
        if len(_recent_products) >= 64:
            _recent_products.clear()
        _recent_products[cells] = known
    if isinstance(known, RowError):
        raise known
    return known


def _parse_product(record: dict[str, str]) -> _Product:
    def get(column: str) -> str:
        return record.get(column) or ""

    category = get("category").strip()
    category = _slug(category, "category") if category else None
    category_name = get("category_name").strip() or (category or "").replace("-", " ").capitalize()
    if category:
        _check(rules.name_problems(category_name, ("category_name",)), "category_name")
    name = _name(get("product_name"), "product_name")
    description = _description(get("description"))
    active = _flag(get("active"))
    images = orjson.dumps(parse_images(get("images"))).decode()
    attributes = _attribute_values(record, "product")
    digest_of = (name, description, category, active, images, attributes)
    return _Product(
        slug=_slug(get("product_slug"), "product_slug"),
        name=name,
        description=description,
        category=category,
        category_name=category_name,
        active=active,
        images=images,
        attributes=attributes,
        digest=hashlib.blake2b(orjson.dumps(digest_of), digest_size=16).hexdigest(),
    )


def parse_row(line: int, record: dict[str, str]) -> ImportRow:
    """One row, checked by the catalog's rules; raises RowError."""

    def get(column: str) -> str:
        return record.get(column) or ""

    product = _product(record)
    sku = get("sku").strip()
    _check(rules.sku_problems(sku, ("sku",)), "sku")
    price = _integer(get("price"), "price")
    if price is None:
        raise RowError("price: required")
    _check(rules.price_problems(price, ("price",)), "price")
    stock = _integer(get("stock"), "stock")
    if stock is not None:
        _check(rules.quantity_problems(stock, ("stock",)), "stock")
    position = _integer(get("position"), "position") or 0
    _check(rules.position_problems(position, ("position",)), "position")
    return ImportRow(
        line=line,
        product_slug=product.slug,
        product_name=product.name,
        description=product.description,
        category=product.category,
        category_name=product.category_name,
        active=product.active,
        images=product.images,
        sku=sku,
        variant_name=_name(get("variant_name"), "variant_name"),
        price=price,
        stock=stock,
        position=position,
        product_digest=product.digest,
        product_attributes=product.attributes,
        variant_attributes=_attribute_values(record, "variant"),
    )


def export_header(product_attributes: list[str], variant_attributes: list[str]) -> list[str]:
    return [
        *COLUMNS,
        *(ATTRIBUTE_PREFIX + slug for slug in product_attributes),
        *(VARIANT_ATTRIBUTE_PREFIX + slug for slug in variant_attributes),
    ]
