"""What a staff catalog edit may hold: names, slugs, SKUs, prices, stock, images. Pure functions.

Each check returns the problems of one value (empty when it is fine), with the field path the
caller gives it; domain.catalog_admin raises them together. The database backs the invariants
that matter for money and stock with CHECK constraints of its own (migration 0008).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from domain.errors import CatalogCode, Problem

MAX_NAME = 250
MAX_SLUG = 100
MAX_SKU = 64
MAX_DESCRIPTION = 20_000
MAX_IMAGES = 20
MAX_URL = 2_000
MAX_NOTE = 500
MAX_PRICE = 99_999_999  # minor units
MAX_STOCK = 10_000_000
MAX_POSITION = 1_000_000
MAX_VALUES_PER_CALL = 100

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")

Field = tuple[str, ...]


def printable(text: str) -> bool:
    """No NUL, control or other invisible format characters (a newline or tab is fine)."""
    if text.isprintable():  # the common case, in C: no character of category C* (nor Z* but space)
        return True
    return all(
        char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn") for char in text
    )


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_SLUG].strip("-")


def name_problems(name: str, field: Field) -> list[Problem]:
    if not name.strip() or len(name) > MAX_NAME or "\n" in name or not printable(name):
        return [Problem(CatalogCode.INVALID_NAME, f"A name is 1 to {MAX_NAME} printable characters.", field)]
    return []


def slug_problems(slug: str, field: Field) -> list[Problem]:
    if len(slug) > MAX_SLUG or not SLUG.match(slug):
        return [
            Problem(
                CatalogCode.INVALID_SLUG,
                f"A slug is lower-case letters, digits and single hyphens, at most {MAX_SLUG} characters.",
                field,
            )
        ]
    return []


def description_problems(description: str, field: Field) -> list[Problem]:
    if len(description) > MAX_DESCRIPTION or not printable(description):
        return [
            Problem(
                CatalogCode.INVALID_DESCRIPTION,
                f"A description is at most {MAX_DESCRIPTION} printable characters.",
                field,
            )
        ]
    return []


def images_problems(images: Sequence[dict[str, Any]], field: Field) -> list[Problem]:
    if len(images) > MAX_IMAGES:
        return [Problem(CatalogCode.TOO_MANY_IMAGES, f"A product has at most {MAX_IMAGES} images.", field)]
    problems: list[Problem] = []
    for index, image in enumerate(images):
        url, alt = image.get("url") or "", image.get("alt")
        parts = urlsplit(url) if printable(url) and " " not in url else None
        if parts is None or len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                Problem(
                    CatalogCode.INVALID_IMAGE, "An image URL is an http(s) URL.", (*field, str(index), "url")
                )
            )
        if alt is not None and (len(alt) > MAX_NAME or not printable(alt)):
            problems.append(
                Problem(
                    CatalogCode.INVALID_IMAGE,
                    f"Alt text is at most {MAX_NAME} printable characters.",
                    (*field, str(index), "alt"),
                )
            )
    return problems


def sku_problems(sku: str, field: Field) -> list[Problem]:
    if len(sku) > MAX_SKU or not SKU.match(sku):
        return [
            Problem(
                CatalogCode.INVALID_SKU,
                f"A SKU is 1 to {MAX_SKU} letters, digits and . _ / - (starting with a letter or digit).",
                field,
            )
        ]
    return []


def price_problems(price: int, field: Field) -> list[Problem]:
    if not 0 <= price <= MAX_PRICE:
        return [Problem(CatalogCode.INVALID_PRICE, f"A price is 0 to {MAX_PRICE} in minor units.", field)]
    return []


def quantity_problems(quantity: int, field: Field) -> list[Problem]:
    if not 0 <= quantity <= MAX_STOCK:
        return [Problem(CatalogCode.INVALID_QUANTITY, f"Stock is 0 to {MAX_STOCK} units.", field)]
    return []


def position_problems(position: int | None, field: Field) -> list[Problem]:
    if position is not None and not 0 <= position <= MAX_POSITION:
        return [Problem(CatalogCode.INVALID_POSITION, f"A position is 0 to {MAX_POSITION}.", field)]
    return []


def note_problems(note: str, field: Field) -> list[Problem]:
    if len(note) > MAX_NOTE or not printable(note):
        return [
            Problem(CatalogCode.INVALID_NOTE, f"A note is at most {MAX_NOTE} printable characters.", field)
        ]
    return []
