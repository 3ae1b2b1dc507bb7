"""A constraint's refusal as the catalog problem it stands for (see domain.catalog_admin)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError

from domain.errors import CatalogCode, Problem, Rejected

P = ParamSpec("P")
R = TypeVar("R")

# Constraints (and the cycle trigger) whose refusal is a caller's mistake, by name.
_CONSTRAINT_PROBLEMS: dict[str, tuple[CatalogCode, str, tuple[str, ...]]] = {
    "products_slug_key": (CatalogCode.SLUG_TAKEN, "Another product has this slug.", ("slug",)),
    "categories_slug_key": (CatalogCode.SLUG_TAKEN, "Another category has this slug.", ("slug",)),
    "attributes_slug_key": (CatalogCode.SLUG_TAKEN, "Another attribute has this slug.", ("slug",)),
    "uq_attribute_values_slug": (
        CatalogCode.SLUG_TAKEN,
        "The attribute has a value with this slug.",
        ("slug",),
    ),
    "product_variants_sku_key": (CatalogCode.SKU_TAKEN, "Another variant has this SKU.", ("sku",)),
    "ck_variant_price_not_negative": (CatalogCode.INVALID_PRICE, "A price cannot be negative.", ("price",)),
    "ck_variant_stock_not_negative": (
        CatalogCode.INVALID_QUANTITY,
        "Stock cannot be negative.",
        ("quantity",),
    ),
    "ck_variant_reserved_within_stock": (
        CatalogCode.STOCK_BELOW_RESERVED,
        "Stock cannot go below the units reserved by checkouts.",
        ("quantity",),
    ),
    "ck_category_no_cycle": (
        CatalogCode.CATEGORY_CYCLE,
        "A category cannot move under itself.",
        ("parent_id",),
    ),
    "ck_category_not_own_parent": (
        CatalogCode.CATEGORY_CYCLE,
        "A category cannot be its own parent.",
        ("parent_id",),
    ),
}


def _constraint_of(error: IntegrityError) -> str | None:
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None) or getattr(error.orig, "constraint_name", None)
    if name:
        return str(name)
    message = str(error.orig)
    return next((known for known in _CONSTRAINT_PROBLEMS if known in message), None)


def translated(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Report a constraint's refusal as the problem it stands for (the caller then rolls back)."""

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await function(*args, **kwargs)
        except IntegrityError as error:
            known = _CONSTRAINT_PROBLEMS.get(_constraint_of(error) or "")
            if known is None:
                raise
            code, message, field = known
            raise Rejected([Problem(code, message, field)]) from None

    return run
