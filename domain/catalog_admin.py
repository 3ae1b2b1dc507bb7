"""The one write path for catalog edits: the staff API, the CSV import and the dashboard all call these.

Every function is a plain coroutine that takes an `AsyncConnection` inside the caller's
transaction (`async with engine.begin() as conn`), returns the changed record, or raises
`domain.errors.Rejected` with `CatalogCode` problems. After a `Rejected` (or any error) the
caller rolls the transaction back; an importer that goes on after a bad row wraps each row in a
savepoint (`conn.begin_nested()`). Nothing is half-applied: problems are found before any write,
and what slips past them (a race on a slug or SKU, stock reserved meanwhile) is refused by the
database's constraints and reported with the same codes. Each write announces itself on the
`catalog_changed` channel (triggers, migrations 0004 and 0008): the storefront's answer caches
drop, the search vector and lexicon follow the product's name and description (0001), and cart
price locks (domain.price_lock) keep what customers were shown.

Optional arguments left as `UNSET` are not changed. The functions:

- `create_product(conn, *, name, slug=None, description="", category_id=None, images=(),
  is_active=True) -> ProductRecord`  (slug defaults to the name slugified)
- `update_product(conn, product_id, *, name, slug, description, category_id, images, is_active)`
- `set_product_active(conn, product_id, active)`: False is the soft delete (is_active false,
  deleted_at set; the product vanishes from the storefront, orders keep their line snapshots),
  True re-activates it.
- `create_variant(conn, *, product_id, sku, name, price, stock=0, position=None,
  actor_user_id=None) -> VariantRecord`  (initial stock is an `initial` ledger row)
- `update_variant(conn, variant_id, *, sku, name, price, position)`: a price change applies to new
  cart units at once; locked cart units keep their price for CART_PRICE_LOCK_TTL.
- `delete_variant(conn, variant_id)` (soft: deleted_at set) and `restore_variant(conn, variant_id)`
- `create_category(conn, *, name, slug=None, parent_id=None, position=0) -> CategoryRecord`
- `update_category(conn, category_id, *, name, slug, position)`
- `move_category(conn, category_id, *, parent_id, position=UNSET)`: no cycles (CATEGORY_CYCLE).
- `adjust_stock(conn, variant_id, *, delta=None, quantity=None, reason, note="",
  actor_user_id=None) -> StockAdjustment`: exactly one of delta / quantity; never below the
  units reserved by checkouts (STOCK_BELOW_RESERVED). A change of 0 writes no ledger row.
- `find_product(conn, slug)`, `find_variant(conn, sku)`, `find_category(conn, slug)` for importers;
  `get_product`, `get_variant`, `get_category`, `variants_of_product`, `stock_movements`,
  `product_views` (products as the storefront types show them, whatever their state).
- Attributes (domain.catalog_attributes, re-exported here): `create_attribute`,
  `add_attribute_value`, `set_product_attribute_values`, `set_variant_attribute_values`,
  `find_attribute`, `attribute_values`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import catalog_rules as rules
from domain.catalog_attributes import (
    add_attribute_value,
    attribute_values,
    create_attribute,
    find_attribute,
    set_product_attribute_values,
    set_variant_attribute_values,
)
from domain.catalog_constraints import translated
from domain.errors import CatalogCode, Problem, Rejected
from models import catalog_admin_repository as repo
from models.catalog_admin import STOCK_REASONS
from models.catalog_admin_repository import (
    AttributeRecord,
    AttributeValueRecord,
    CategoryRecord,
    MovementRecord,
    ProductRecord,
    VariantRecord,
)
from models.catalog_repository import ProductRow

__all__ = [
    "STOCK_REASONS",
    "UNSET",
    "AttributeRecord",
    "AttributeValueRecord",
    "CategoryRecord",
    "MovementRecord",
    "ProductRecord",
    "StockAdjustment",
    "VariantRecord",
    "add_attribute_value",
    "adjust_stock",
    "attribute_values",
    "create_attribute",
    "create_category",
    "create_product",
    "create_variant",
    "delete_variant",
    "find_attribute",
    "find_category",
    "find_product",
    "find_variant",
    "get_category",
    "get_product",
    "get_variant",
    "move_category",
    "product_views",
    "restore_variant",
    "set_product_active",
    "set_product_attribute_values",
    "set_variant_attribute_values",
    "stock_movements",
    "update_category",
    "update_product",
    "update_variant",
    "variants_of_product",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _raise_if(problems: Sequence[Problem]) -> None:
    if problems:
        raise Rejected(problems)


def _not_found(what: str, field: str = "id", code: CatalogCode = CatalogCode.NOT_FOUND) -> Rejected:
    return Rejected([Problem(code, f"There is no such {what}.", (field,))])


# ---------------------------------------------------------------- reads


async def get_product(conn: AsyncConnection, product_id: int) -> ProductRecord | None:
    """A product whatever its state (inactive and deleted included)."""
    return await repo.product(conn, product_id)


async def product_views(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ProductRow]:
    """Products as the storefront types show them (price range of live variants), whatever their state."""
    return await repo.product_rows(conn, ids)


async def find_product(conn: AsyncConnection, slug: str) -> ProductRecord | None:
    return await repo.product_by_slug(conn, slug) if rules.printable(slug) else None


async def get_variant(conn: AsyncConnection, variant_id: int) -> VariantRecord | None:
    return await repo.variant(conn, variant_id)


async def find_variant(conn: AsyncConnection, sku: str) -> VariantRecord | None:
    return await repo.variant_by_sku(conn, sku) if rules.printable(sku) else None


async def variants_of_product(conn: AsyncConnection, product_id: int) -> list[VariantRecord]:
    """Every variant of a product, deleted ones included, in their order."""
    return await repo.variants_of(conn, product_id)


async def get_category(conn: AsyncConnection, category_id: int) -> CategoryRecord | None:
    return await repo.category(conn, category_id)


async def find_category(conn: AsyncConnection, slug: str) -> CategoryRecord | None:
    return await repo.category_by_slug(conn, slug) if rules.printable(slug) else None


async def stock_movements(conn: AsyncConnection, variant_id: int, limit: int = 50) -> list[MovementRecord]:
    """The variant's ledger, newest first."""
    return await repo.movements_of(conn, variant_id, min(max(limit, 1), 500))


# ---------------------------------------------------------------- products


async def _category_problems(conn: AsyncConnection, category_id: int | None) -> list[Problem]:
    if category_id is not None and await repo.category(conn, category_id) is None:
        return [Problem(CatalogCode.CATEGORY_NOT_FOUND, "There is no such category.", ("category_id",))]
    return []


def _images(images: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"url": image.get("url") or "", "alt": image.get("alt")} for image in images]


# Each field a product, variant or category write takes: its rule, and how it is stored.
_RULES: dict[str, Callable[[Any, tuple[str, ...]], list[Problem]]] = {
    "name": rules.name_problems,
    "slug": rules.slug_problems,
    "description": rules.description_problems,
    "images": rules.images_problems,
    "sku": rules.sku_problems,
    "price": rules.price_problems,
    "position": rules.position_problems,
}
_STORED: dict[str, Callable[[Any], Any]] = {"name": str.strip, "images": _images}


def _checked(given: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The fields given (UNSET ones left out) as they are stored, and their problems in field order."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for field, value in given.items():
        if value is UNSET:
            continue
        problems += _RULES[field](value, (field,))
        values[field] = _STORED[field](value) if field in _STORED else value
    return values, problems


@translated
async def create_product(
    conn: AsyncConnection,
    *,
    name: str,
    slug: str | None = None,
    description: str = "",
    category_id: int | None = None,
    images: Sequence[dict[str, Any]] = (),
    is_active: bool = True,
) -> ProductRecord:
    slug = rules.slugify(name) if slug is None else slug
    values, problems = _checked({"name": name, "slug": slug, "description": description, "images": images})
    _raise_if(problems)
    problems += await _category_problems(conn, category_id)
    if await repo.slug_taken(conn, "products", slug):
        problems.append(Problem(CatalogCode.SLUG_TAKEN, "Another product has this slug.", ("slug",)))
    _raise_if(problems)
    return await repo.insert_product(conn, {**values, "category_id": category_id, "is_active": is_active})


@translated
async def update_product(
    conn: AsyncConnection,
    product_id: int,
    *,
    name: str = UNSET,
    slug: str = UNSET,
    description: str = UNSET,
    category_id: int | None = UNSET,
    images: Sequence[dict[str, Any]] = UNSET,
    is_active: bool = UNSET,
) -> ProductRecord:
    current = await repo.product(conn, product_id, lock=True)
    if current is None:
        raise _not_found("product")
    changes, problems = _checked({"name": name, "slug": slug, "description": description, "images": images})
    if is_active is not UNSET:
        changes["is_active"] = is_active
        if is_active:
            changes["deleted_at"] = None
    _raise_if(problems)
    if category_id is not UNSET:
        problems += await _category_problems(conn, category_id)
        changes["category_id"] = category_id
    if slug is not UNSET and await repo.slug_taken(conn, "products", slug, other_than=product_id):
        problems.append(Problem(CatalogCode.SLUG_TAKEN, "Another product has this slug.", ("slug",)))
    _raise_if(problems)
    return await repo.update_product(conn, product_id, changes) if changes else current


async def set_product_active(conn: AsyncConnection, product_id: int, active: bool) -> ProductRecord:
    """Soft delete (False) or re-activate (True) a product; its variants and history stay."""
    if await repo.product(conn, product_id, lock=True) is None:
        raise _not_found("product")
    return await repo.set_product_active(conn, product_id, active)


# ---------------------------------------------------------------- variants


@dataclass(slots=True, frozen=True)
class StockAdjustment:
    variant: VariantRecord
    movement: MovementRecord | None  # None when the stock did not change


@translated
async def create_variant(
    conn: AsyncConnection,
    *,
    product_id: int,
    sku: str,
    name: str,
    price: int,
    stock: int = 0,
    position: int | None = None,
    actor_user_id: int | None = None,
) -> VariantRecord:
    values, problems = _checked({"sku": sku, "name": name, "price": price, "position": position})
    problems += rules.quantity_problems(stock, ("stock",))
    _raise_if(problems)
    if await repo.product(conn, product_id, lock=True) is None:
        raise _not_found("product", "product_id", CatalogCode.PRODUCT_NOT_FOUND)
    if await repo.sku_taken(conn, sku):
        raise Rejected([Problem(CatalogCode.SKU_TAKEN, "Another variant has this SKU.", ("sku",))])
    created = await repo.insert_variant(conn, {"product_id": product_id, **values, "stock": 0})
    if stock == 0:
        return created
    adjusted = await adjust_stock(
        conn, created.id, quantity=stock, reason="initial", actor_user_id=actor_user_id
    )
    return adjusted.variant


@translated
async def update_variant(
    conn: AsyncConnection,
    variant_id: int,
    *,
    sku: str = UNSET,
    name: str = UNSET,
    price: int = UNSET,
    position: int = UNSET,
) -> VariantRecord:
    current = await repo.variant(conn, variant_id, lock=True)
    if current is None:
        raise _not_found("variant")
    # A variant's new name is checked trimmed (a product's or category's as given).
    trimmed = name if name is UNSET else name.strip()
    changes, problems = _checked({"sku": sku, "name": trimmed, "price": price, "position": position})
    if "position" in changes and changes["position"] is None:
        problems.append(Problem(CatalogCode.INVALID_POSITION, "A position is a number.", ("position",)))
    _raise_if(problems)
    if "sku" in changes and await repo.sku_taken(conn, changes["sku"], other_than=variant_id):
        raise Rejected([Problem(CatalogCode.SKU_TAKEN, "Another variant has this SKU.", ("sku",))])
    return await repo.update_variant(conn, variant_id, changes) if changes else current


async def delete_variant(conn: AsyncConnection, variant_id: int) -> VariantRecord:
    """Soft delete: the variant leaves the storefront and carts; orders keep their snapshots."""
    if await repo.variant(conn, variant_id, lock=True) is None:
        raise _not_found("variant")
    return await repo.set_variant_deleted(conn, variant_id, True)


async def restore_variant(conn: AsyncConnection, variant_id: int) -> VariantRecord:
    if await repo.variant(conn, variant_id, lock=True) is None:
        raise _not_found("variant")
    return await repo.set_variant_deleted(conn, variant_id, False)


@translated
async def adjust_stock(
    conn: AsyncConnection,
    variant_id: int,
    *,
    delta: int | None = None,
    quantity: int | None = None,
    reason: str,
    note: str = "",
    actor_user_id: int | None = None,
) -> StockAdjustment:
    """Change a variant's stock by `delta`, or set it to `quantity`, and record why in the ledger."""
    problems: list[Problem] = []
    if (delta is None) == (quantity is None):
        problems.append(
            Problem(CatalogCode.INVALID_QUANTITY, "Give either a delta or a quantity.", ("quantity",))
        )
    if quantity is not None:
        problems += rules.quantity_problems(quantity, ("quantity",))
    if delta is not None and abs(delta) > rules.MAX_STOCK:
        problems.append(
            Problem(CatalogCode.INVALID_QUANTITY, f"A delta is at most {rules.MAX_STOCK} units.", ("delta",))
        )
    if reason not in STOCK_REASONS:
        problems.append(
            Problem(
                CatalogCode.INVALID_REASON, f"A reason is one of {', '.join(STOCK_REASONS)}.", ("reason",)
            )
        )
    problems += rules.note_problems(note, ("note",))
    _raise_if(problems)
    current = await repo.variant(conn, variant_id, lock=True)
    if current is None:
        raise _not_found("variant", "variant_id")
    target = quantity if quantity is not None else current.stock + (delta or 0)
    if target < 0 or target > rules.MAX_STOCK:
        raise Rejected([Problem(CatalogCode.INVALID_QUANTITY, "Stock cannot go below 0.", ("delta",))])
    if target < current.reserved:
        raise Rejected(
            [
                Problem(
                    CatalogCode.STOCK_BELOW_RESERVED,
                    f"{current.reserved} units are reserved by checkouts: stock cannot go below that.",
                    ("quantity" if quantity is not None else "delta",),
                )
            ]
        )
    if target == current.stock:
        return StockAdjustment(current, None)
    variant, movement = await repo.set_stock(
        conn,
        variant_id,
        target,
        delta=target - current.stock,
        reason=reason,
        note=note,
        actor_user_id=actor_user_id,
    )
    return StockAdjustment(variant, movement)


# ---------------------------------------------------------------- categories


@translated
async def create_category(
    conn: AsyncConnection,
    *,
    name: str,
    slug: str | None = None,
    parent_id: int | None = None,
    position: int = 0,
) -> CategoryRecord:
    slug = rules.slugify(name) if slug is None else slug
    values, problems = _checked({"name": name, "slug": slug, "position": position})
    _raise_if(problems)
    if parent_id is not None and await repo.category(conn, parent_id) is None:
        problems.append(Problem(CatalogCode.CATEGORY_NOT_FOUND, "There is no such category.", ("parent_id",)))
    if await repo.slug_taken(conn, "categories", slug):
        problems.append(Problem(CatalogCode.SLUG_TAKEN, "Another category has this slug.", ("slug",)))
    _raise_if(problems)
    return await repo.insert_category(conn, {**values, "parent_id": parent_id})


@translated
async def update_category(
    conn: AsyncConnection, category_id: int, *, name: str = UNSET, slug: str = UNSET, position: int = UNSET
) -> CategoryRecord:
    current = await repo.category(conn, category_id, lock=True)
    if current is None:
        raise _not_found("category")
    changes, problems = _checked({"name": name, "slug": slug, "position": position})
    _raise_if(problems)
    if slug is not UNSET and await repo.slug_taken(conn, "categories", slug, other_than=category_id):
        raise Rejected([Problem(CatalogCode.SLUG_TAKEN, "Another category has this slug.", ("slug",))])
    return await repo.update_category(conn, category_id, changes) if changes else current


@translated
async def move_category(
    conn: AsyncConnection, category_id: int, *, parent_id: int | None, position: int = UNSET
) -> CategoryRecord:
    """Put a category under another (None: at the top). Never under itself or its descendants."""
    if position is not UNSET:
        _raise_if(rules.position_problems(position, ("position",)))
    if await repo.category(conn, category_id, lock=True) is None:
        raise _not_found("category")
    if parent_id is not None:
        if await repo.category(conn, parent_id) is None:
            raise _not_found("category", "parent_id", CatalogCode.CATEGORY_NOT_FOUND)
        if await repo.is_ancestor_or_self(conn, category_id, of=parent_id):
            raise Rejected(
                [Problem(CatalogCode.CATEGORY_CYCLE, "A category cannot move under itself.", ("parent_id",))]
            )
    changes: dict[str, Any] = {"parent_id": parent_id}
    if position is not UNSET:
        changes["position"] = position
    return await repo.update_category(conn, category_id, changes)


async def delete_category(conn: AsyncConnection, category_id: int) -> CategoryRecord:
    """Delete an empty category. One that still holds sub-categories or live products is refused
    (CATEGORY_NOT_EMPTY): move or delete them first, so no product silently leaves the catalog's
    tree. Soft-deleted products in it are left without a category."""
    record = await repo.category(conn, category_id, lock=True)
    if record is None:
        raise _not_found("category")
    children, products = await repo.category_contents(conn, category_id)
    if children or products:
        message = (
            f"The category still holds {children} sub-categories and {products} products:"
            " move or delete them first."
        )
        raise Rejected([Problem(CatalogCode.CATEGORY_NOT_EMPTY, message, ("id",))])
    await repo.delete_category(conn, category_id)
    return record
