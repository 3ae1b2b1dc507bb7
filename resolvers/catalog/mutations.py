"""Staff catalog mutations, in Saleor's naming: products, variants, categories, stock, attributes.

Each checks that the caller is staff (UNAUTHENTICATED signed out, FORBIDDEN otherwise), runs one
domain.catalog_admin function in a transaction, and answers the changed object with userErrors.
After a commit the process's catalog answer cache drops at once; the other processes drop theirs
on the catalog_changed notification the same write sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import attributes, catalog_admin
from domain.catalog_admin import UNSET
from domain.errors import CatalogCode, Problem, Rejected
from graph.auth import Viewer, require_staff
from graph.catalog.admin_types import (
    AttributeCreateInput,
    AttributePayload,
    AttributeValueInput,
    AttributeValuePayload,
    AttributeValuesInput,
    CategoryCreateInput,
    CategoryPayload,
    CategoryUpdateInput,
    InventoryMovement,
    ProductCreateInput,
    ProductImageInput,
    ProductPayload,
    ProductUpdateInput,
    ProductVariantCreateInput,
    ProductVariantPayload,
    ProductVariantUpdateInput,
    StockAdjustmentReason,
    StockAdjustPayload,
    variant_of,
)
from graph.catalog.attribute_types import Attribute, AttributeValue
from graph.catalog.types import Category, Product
from graph.common.types import UserError, user_errors
from graph.context import Info
from graph.ids import pk_of, to_global_id

T = TypeVar("T")
# A mutation's write: given the transaction and the staff member, what it changed.
Work = Callable[[AsyncConnection, Viewer], Awaitable[T]]


class _Missing(Exception):
    """An id that names nothing of its type: reported as NOT_FOUND on its field."""

    def __init__(self, field: str, code: CatalogCode = CatalogCode.NOT_FOUND) -> None:
        self.problem = Problem(code, "There is no such object.", (field,))


def _pk(global_id: str, type_name: str, field: str, code: CatalogCode = CatalogCode.NOT_FOUND) -> int:
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise _Missing(field, code)
    return pk


def _given(value: Any) -> Any:
    """Left out (strawberry's UNSET) or null: not changed (the domain's UNSET)."""
    return UNSET if value is strawberry.UNSET or value is None else value


def _images(images: list[ProductImageInput] | None) -> list[dict[str, Any]]:
    return [{"url": image.url, "alt": image.alt} for image in images or ()]


async def _write(info: Info, work: Work[T]) -> tuple[T | None, list[UserError]]:
    """Staff only; `work` in one transaction; a refusal (or an id naming nothing) as userErrors and
    nothing written; after a commit the catalog answer cache drops."""
    staff = await require_staff(info)
    try:
        async with info.context.engine.begin() as conn:
            result = await work(conn, staff)
    except Rejected as rejected:
        return None, user_errors(rejected.problems)
    except _Missing as missing:
        return None, user_errors([missing.problem])
    cache = getattr(info.context.request.app.state, "catalog_cache", None)
    if cache is not None:
        cache.invalidate()
    return result, []


async def _product(conn: AsyncConnection, info: Info, product_id: int) -> Product:
    row = (await catalog_admin.product_views(conn, [product_id]))[product_id]
    return Product.from_row(row, info.context.settings.currency)


async def _product_change(info: Info, change: Work[int]) -> ProductPayload:
    """`change` writes and names the product it changed; the payload shows that product."""

    async def work(conn: AsyncConnection, staff: Viewer) -> Product:
        return await _product(conn, info, await change(conn, staff))

    product, errors = await _write(info, work)
    return ProductPayload(product=product, user_errors=errors)


async def _variant_change(info: Info, work: Work[catalog_admin.VariantRecord]) -> ProductVariantPayload:
    record, errors = await _write(info, work)
    if record is None:
        return ProductVariantPayload(
            product_variant=None, stock=None, reserved=None, deleted=None, user_errors=errors
        )
    return ProductVariantPayload(
        product_variant=variant_of(record, info.context.settings.currency),
        stock=record.stock,
        reserved=record.reserved,
        deleted=record.deleted_at is not None,
        user_errors=errors,
    )


async def _category_change(info: Info, work: Work[catalog_admin.CategoryRecord]) -> CategoryPayload:
    record, errors = await _write(info, work)
    if record is None:
        return CategoryPayload(category=None, user_errors=errors)
    return CategoryPayload(
        category=Category(
            id=strawberry.ID(to_global_id("Category", record.id)),
            name=record.name,
            slug=record.slug,
            pk=record.id,
            parent_id=record.parent_id,
        ),
        user_errors=errors,
    )


async def _attribute(conn: AsyncConnection, attribute_id: int) -> Attribute:
    return Attribute.from_row((await attributes.attributes_by_ids(conn, [attribute_id]))[attribute_id])


@strawberry.type
class CatalogMutation:
    # ---------------------------------------------------------------- products

    @strawberry.mutation(
        description="Staff only: creates a product (without variants: see productVariantCreate)."
    )
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductPayload:
        async def create(conn: AsyncConnection, staff: Viewer) -> int:
            created = await catalog_admin.create_product(
                conn,
                name=input.name,
                slug=input.slug,
                description=input.description,
                category_id=_pk(input.category, "Category", "category", CatalogCode.CATEGORY_NOT_FOUND)
                if input.category is not None
                else None,
                images=_images(input.images),
                is_active=input.is_active,
            )
            return created.id

        return await _product_change(info, create)

    @strawberry.mutation(description="Staff only: changes a product's fields; those left out stay.")
    async def product_update(
        self, info: Info, id: strawberry.ID, input: ProductUpdateInput
    ) -> ProductPayload:
        async def update(conn: AsyncConnection, staff: Viewer) -> int:
            pk = _pk(id, "Product", "id")
            category: Any = UNSET if input.category is strawberry.UNSET else input.category
            if category not in (UNSET, None):
                category = _pk(category, "Category", "category", CatalogCode.CATEGORY_NOT_FOUND)
            images = _given(input.images)
            await catalog_admin.update_product(
                conn,
                pk,
                name=_given(input.name),
                slug=_given(input.slug),
                description=_given(input.description),
                category_id=category,
                images=images if images is UNSET else _images(images),
                is_active=_given(input.is_active),
            )
            return pk

        return await _product_change(info, update)

    @strawberry.mutation(
        description=(
            "Staff only: soft delete. The product leaves the storefront and carts; orders keep their lines. "
            "productUpdate(isActive: true) brings it back."
        )
    )
    async def product_delete(self, info: Info, id: strawberry.ID) -> ProductPayload:
        async def delete(conn: AsyncConnection, staff: Viewer) -> int:
            pk = _pk(id, "Product", "id")
            await catalog_admin.set_product_active(conn, pk, False)
            return pk

        return await _product_change(info, delete)

    # ---------------------------------------------------------------- variants

    @strawberry.mutation(description="Staff only: adds a variant to a product, with its initial stock.")
    async def product_variant_create(
        self, info: Info, input: ProductVariantCreateInput
    ) -> ProductVariantPayload:
        return await _variant_change(
            info,
            lambda conn, staff: catalog_admin.create_variant(
                conn,
                product_id=_pk(input.product, "Product", "product", CatalogCode.PRODUCT_NOT_FOUND),
                sku=input.sku,
                name=input.name,
                price=input.price,
                stock=input.stock,
                position=input.position,
                actor_user_id=staff.id,
            ),
        )

    @strawberry.mutation(
        description=(
            "Staff only: changes a variant. A new price applies to cart units added from now on; "
            "units already in carts keep their locked price for CART_PRICE_LOCK_TTL."
        )
    )
    async def product_variant_update(
        self, info: Info, id: strawberry.ID, input: ProductVariantUpdateInput
    ) -> ProductVariantPayload:
        return await _variant_change(
            info,
            lambda conn, staff: catalog_admin.update_variant(
                conn,
                _pk(id, "ProductVariant", "id"),
                sku=_given(input.sku),
                name=_given(input.name),
                price=_given(input.price),
                position=_given(input.position),
            ),
        )

    @strawberry.mutation(description="Staff only: soft delete; the variant leaves the storefront and carts.")
    async def product_variant_delete(self, info: Info, id: strawberry.ID) -> ProductVariantPayload:
        return await _variant_change(
            info, lambda conn, staff: catalog_admin.delete_variant(conn, _pk(id, "ProductVariant", "id"))
        )

    @strawberry.mutation(description="Staff only: puts a soft-deleted variant back on sale.")
    async def product_variant_restore(self, info: Info, id: strawberry.ID) -> ProductVariantPayload:
        return await _variant_change(
            info, lambda conn, staff: catalog_admin.restore_variant(conn, _pk(id, "ProductVariant", "id"))
        )

    @strawberry.mutation(
        description=(
            "Staff only: changes a variant's stock by `delta` or to `quantity` (give one), recorded in the "
            "inventory ledger with its reason. Never below the units reserved by checkouts "
            "(STOCK_BELOW_RESERVED)."
        )
    )
    async def stock_adjust(
        self,
        info: Info,
        variant_id: strawberry.ID,
        reason: StockAdjustmentReason,
        delta: int | None = None,
        quantity: int | None = None,
        note: str | None = None,
    ) -> StockAdjustPayload:
        adjustment, errors = await _write(
            info,
            lambda conn, staff: catalog_admin.adjust_stock(
                conn,
                _pk(variant_id, "ProductVariant", "variant_id"),
                delta=delta,
                quantity=quantity,
                reason=reason.value,
                note=note or "",
                actor_user_id=staff.id,
            ),
        )
        if adjustment is None:
            return StockAdjustPayload(
                product_variant=None, stock=None, reserved=None, movement=None, user_errors=errors
            )
        variant = adjustment.variant
        return StockAdjustPayload(
            product_variant=variant_of(variant, info.context.settings.currency),
            stock=variant.stock,
            reserved=variant.reserved,
            movement=InventoryMovement.from_record(adjustment.movement) if adjustment.movement else None,
            user_errors=[],
        )

    # ---------------------------------------------------------------- categories

    @strawberry.mutation(description="Staff only: creates a category, at the top or under `parent`.")
    async def category_create(self, info: Info, input: CategoryCreateInput) -> CategoryPayload:
        return await _category_change(
            info,
            lambda conn, staff: catalog_admin.create_category(
                conn,
                name=input.name,
                slug=input.slug,
                parent_id=_pk(input.parent, "Category", "parent", CatalogCode.CATEGORY_NOT_FOUND)
                if input.parent is not None
                else None,
                position=input.position,
            ),
        )

    @strawberry.mutation(description="Staff only: renames a category or changes its slug or position.")
    async def category_update(
        self, info: Info, id: strawberry.ID, input: CategoryUpdateInput
    ) -> CategoryPayload:
        return await _category_change(
            info,
            lambda conn, staff: catalog_admin.update_category(
                conn,
                _pk(id, "Category", "id"),
                name=_given(input.name),
                slug=_given(input.slug),
                position=_given(input.position),
            ),
        )

    @strawberry.mutation(
        description=(
            "Staff only: moves a category under `parent` (null: to the top), never under itself "
            "(CATEGORY_CYCLE)."
        )
    )
    async def category_move(
        self, info: Info, id: strawberry.ID, parent: strawberry.ID | None, position: int | None = None
    ) -> CategoryPayload:
        return await _category_change(
            info,
            lambda conn, staff: catalog_admin.move_category(
                conn,
                _pk(id, "Category", "id"),
                parent_id=_pk(parent, "Category", "parent", CatalogCode.CATEGORY_NOT_FOUND)
                if parent
                else None,
                position=UNSET if position is None else position,
            ),
        )

    @strawberry.mutation(
        description=(
            "Staff only: deletes an empty category; one that still holds sub-categories or live"
            " products answers CATEGORY_NOT_EMPTY."
        )
    )
    async def category_delete(self, info: Info, id: strawberry.ID) -> CategoryPayload:
        return await _category_change(
            info, lambda conn, staff: catalog_admin.delete_category(conn, _pk(id, "Category", "id"))
        )

    # ---------------------------------------------------------------- attributes

    @strawberry.mutation(
        description="Staff only: defines an attribute (brand, colour, size...) with its values."
    )
    async def attribute_create(self, info: Info, input: AttributeCreateInput) -> AttributePayload:
        async def work(conn: AsyncConnection, staff: Viewer) -> Attribute:
            created = await catalog_admin.create_attribute(
                conn,
                name=input.name,
                slug=input.slug,
                input_type=input.input_type.value,
                values=[(value.name, value.slug) for value in input.values or ()],
                position=input.position,
            )
            return await _attribute(conn, created.id)

        attribute, errors = await _write(info, work)
        return AttributePayload(attribute=attribute, user_errors=errors)

    @strawberry.mutation(description="Staff only: adds a value to an attribute.")
    async def attribute_value_create(
        self, info: Info, attribute: strawberry.ID, input: AttributeValueInput
    ) -> AttributeValuePayload:
        async def work(conn: AsyncConnection, staff: Viewer) -> tuple[Attribute, AttributeValue]:
            pk = _pk(attribute, "Attribute", "attribute", CatalogCode.ATTRIBUTE_NOT_FOUND)
            value = await catalog_admin.add_attribute_value(conn, pk, name=input.name, slug=input.slug)
            return await _attribute(conn, pk), AttributeValue(slug=value.slug, name=value.name, pk=value.id)

        result, errors = await _write(info, work)
        return AttributeValuePayload(
            attribute=result[0] if result else None,
            attribute_value=result[1] if result else None,
            user_errors=errors,
        )

    @strawberry.mutation(
        description="Staff only: sets a product's values of the attributes named (others stay, [] clears)."
    )
    async def product_attributes_set(
        self, info: Info, product: strawberry.ID, attributes: list[AttributeValuesInput]
    ) -> ProductPayload:
        async def set_values(conn: AsyncConnection, staff: Viewer) -> int:
            pk = _pk(product, "Product", "product")
            await catalog_admin.set_product_attribute_values(conn, pk, _wanted(attributes))
            return pk

        return await _product_change(info, set_values)

    @strawberry.mutation(
        description="Staff only: sets a variant's values of the attributes named (others stay, [] clears)."
    )
    async def product_variant_attributes_set(
        self, info: Info, variant: strawberry.ID, attributes: list[AttributeValuesInput]
    ) -> ProductVariantPayload:
        return await _variant_change(
            info,
            lambda conn, staff: catalog_admin.set_variant_attribute_values(
                conn, _pk(variant, "ProductVariant", "variant"), _wanted(attributes)
            ),
        )


def _wanted(attributes: list[AttributeValuesInput]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for item in attributes:
        wanted.setdefault(item.attribute, []).extend(item.values)
    return wanted
