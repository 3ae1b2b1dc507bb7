"""The catalog CSV format (import-catalog, export-catalog, the dashboard's upload): one row per
variant, the product's columns repeated on each of its rows.

| column | required | what |
| --- | --- | --- |
| `product_slug` | yes | the product's key: lower-case letters, digits and single hyphens |
| `product_name` | yes | |
| `description` | no | plain text |
| `category` | no | a category slug; a category that does not exist is created (top level) |
| `category_name` | no | the name of a category the import creates (default: from the slug) |
| `active` | no | `true`/`false` (also `yes`/`no`, `1`/`0`); default `true` |
| `images` | no | image URLs (http/https) separated by `|`, each may be followed by a space and alt text |
| `sku` | yes | the variant's key |
| `variant_name` | yes | |
| `price` | yes | in minor units of CURRENCY (`1999` is 19.99), 0 or more |
| `stock` | no | units on hand, 0 or more; empty keeps an existing variant's stock (0 for a new one) |
| `position` | no | the variant's place among its product's variants (default 0) |
| `attribute:<slug>` | no | reserved for product attributes |

Rows of one product must agree on the product's columns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

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
ATTRIBUTE_PREFIX = "attribute:"

MAX_NAME = 200
MAX_DESCRIPTION = 20_000
MAX_SKU = 64
MAX_URL = 2048
MAX_IMAGES = 20
MAX_INT = 2**31 - 1
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
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

    @property
    def product_digest(self) -> str:
        """The product's columns in one value: rows of one product must share it."""
        fields = (self.product_name, self.description, self.category, self.active, self.images)
        return hashlib.blake2b(orjson.dumps(fields), digest_size=16).hexdigest()


def header_problem(header: list[str]) -> str | None:
    if not header:
        return "The file is empty."
    names = [name.strip() for name in header]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        return f"Columns repeated: {', '.join(duplicates)}."
    if missing := [name for name in REQUIRED if name not in names]:
        return f"Required columns missing: {', '.join(missing)}."
    unknown = [name for name in names if name not in COLUMNS and not name.startswith(ATTRIBUTE_PREFIX)]
    if unknown:
        return f"Unknown columns: {', '.join(unknown[:10])} (the format is in README, 'Catalog CSV')."
    return None


def _text(value: str, column: str, limit: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise RowError(f"{column} is required")
    if len(value) > limit:
        raise RowError(f"{column} is longer than {limit} characters")
    if not all(character.isprintable() for character in value):
        raise RowError(f"{column} holds characters that are not printable")
    return value


def _slug(value: str, column: str) -> str:
    value = value.strip()
    if not (0 < len(value) <= MAX_NAME and SLUG.fullmatch(value)):
        raise RowError(
            f"{column} {value[:40]!r} is not a slug (lower-case letters, digits and single hyphens)"
        )
    return value


def _integer(value: str, column: str, default: int | None, *, required: bool = False) -> int | None:
    value = value.strip()
    if not value:
        if required:
            raise RowError(f"{column} is required")
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_INT):
        raise RowError(f"{column} {value[:20]!r} is not a whole number from 0 to {MAX_INT}")
    return int(value)


def _flag(value: str) -> bool:
    value = value.strip().lower()
    if not value or value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"active {value[:20]!r} is neither true nor false")


def parse_images(value: str) -> list[dict[str, str | None]]:
    images: list[dict[str, str | None]] = []
    for entry in value.split("|"):
        entry = entry.strip()
        if not entry:
            continue
        url, _, alt = entry.partition(" ")
        if not re.fullmatch(r"https?://[^\s|]+", url) or len(url) > MAX_URL:
            raise RowError(f"images: {url[:60]!r} is not an http(s) URL")
        images.append({"url": url, "alt": _text(alt, "image alt text", MAX_NAME) or None})
    if len(images) > MAX_IMAGES:
        raise RowError(f"images: at most {MAX_IMAGES} per product")
    return images


def parse_row(line: int, record: dict[str, str]) -> ImportRow:
    """One row, checked; raises RowError."""
    get = lambda column: record.get(column) or ""  # noqa: E731
    category = get("category").strip()
    category = _slug(category, "category") if category else None
    return ImportRow(
        line=line,
        product_slug=_slug(get("product_slug"), "product_slug"),
        product_name=_text(get("product_name"), "product_name", MAX_NAME, required=True),
        description=_description(get("description")),
        category=category,
        category_name=_text(get("category_name"), "category_name", MAX_NAME)
        or (category or "").replace("-", " ").capitalize(),
        active=_flag(get("active")),
        images=orjson.dumps(parse_images(get("images"))).decode(),
        sku=_text(get("sku"), "sku", MAX_SKU, required=True),
        variant_name=_text(get("variant_name"), "variant_name", MAX_NAME, required=True),
        price=_integer(get("price"), "price", None, required=True) or 0,
        stock=_integer(get("stock"), "stock", None),
        position=_integer(get("position"), "position", 0) or 0,
    )


def _description(value: str) -> str:
    """Plain text: lines and tabs allowed, no other control characters."""
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_DESCRIPTION:
        raise RowError(f"description is longer than {MAX_DESCRIPTION} characters")
    if not all(character.isprintable() or character in "\n\t" for character in text):
        raise RowError("description holds characters that are not printable")
    return text


def export_record(row: Any) -> list[Any]:
    """A database row of models.catalog_import_repository.export_rows as the CSV's columns (COLUMNS)."""
    images = " | ".join(
        f"{image['url']} {image['alt']}" if image.get("alt") else image["url"] for image in row.images or []
    )
    return [
        row.product_slug,
        row.product_name,
        row.description,
        row.category or "",
        row.category_name or "",
        "true" if row.is_active else "false",
        images,
        row.sku,
        row.variant_name,
        row.price,
        row.stock,
        row.position,
    ]
