"""Staff catalog types: the inputs and payloads of productCreate, stockAdjust, attributeCreate...

Payloads carry the storefront's own types (Product, ProductVariant, Category, Attribute) and, where
staff need more than a shopper sees, plain fields beside them (stock, reserved units, the ledger
row). None of this is reachable from the cached catalog queries (core.catalog_cache).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain.catalog import VariantRow
from domain.catalog_admin import MovementRecord, VariantRecord
from graph.catalog.attribute_types import Attribute, AttributeValue
from graph.catalog.types import Category, Product, ProductVariant
from graph.common.types import UserError
from graph.ids import to_global_id


@strawberry.enum
class StockAdjustmentReason(Enum):
    RESTOCK = "restock"
    CORRECTION = "correction"
    DAMAGED = "damaged"
    LOST = "lost"
    RETURNED = "returned"


@strawberry.enum
class AttributeInputType(Enum):
    DROPDOWN = "DROPDOWN"
    MULTISELECT = "MULTISELECT"
    SWATCH = "SWATCH"
    BOOLEAN = "BOOLEAN"


@strawberry.input
class ProductImageInput:
    url: str
    alt: str | None = None


@strawberry.input
class ProductCreateInput:
    name: str
    slug: str | None = strawberry.field(default=None, description="Defaults to the name, slugified.")
    description: str = ""
    category: strawberry.ID | None = None
    images: list[ProductImageInput] | None = None
    is_active: bool = True


@strawberry.input(
    description="Fields left out are not changed; `category: null` takes the product out of its category."
)
class ProductUpdateInput:
    name: str | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: strawberry.ID | None = strawberry.UNSET
    images: list[ProductImageInput] | None = strawberry.UNSET
    is_active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="false hides the product; true also undoes productDelete."
    )


@strawberry.input
class ProductVariantCreateInput:
    product: strawberry.ID
    sku: str
    name: str
    price: int = strawberry.field(description="In minor units.")
    stock: int = strawberry.field(
        default=0, description="Initial stock, recorded in the ledger as `initial`."
    )
    position: int | None = None


@strawberry.input(description="Fields left out are not changed. Stock changes go through stockAdjust.")
class ProductVariantUpdateInput:
    sku: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    price: int | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.input
class CategoryCreateInput:
    name: str
    slug: str | None = None
    parent: strawberry.ID | None = None
    position: int = 0


@strawberry.input
class CategoryUpdateInput:
    name: str | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.input
class AttributeValueInput:
    name: str
    slug: str | None = None


@strawberry.input
class AttributeCreateInput:
    name: str
    slug: str | None = None
    input_type: AttributeInputType = AttributeInputType.DROPDOWN
    values: list[AttributeValueInput] | None = None
    position: int = 0


@strawberry.input
class AttributeValuesInput:
    attribute: str = strawberry.field(description="Attribute slug.")
    values: list[str] = strawberry.field(description="Value slugs; an empty list clears the attribute.")


@strawberry.type
class InventoryMovement:
    id: strawberry.ID
    delta: int
    quantity_after: int
    reason: str
    note: str
    created_at: datetime

    @classmethod
    def from_record(cls, record: MovementRecord) -> InventoryMovement:
        return cls(
            id=strawberry.ID(to_global_id("InventoryMovement", record.id)),
            delta=record.delta,
            quantity_after=record.quantity_after,
            reason=record.reason,
            note=record.note,
            created_at=record.created_at,
        )


def variant_of(record: VariantRecord, currency: str) -> ProductVariant:
    row = VariantRow(
        record.id, record.product_id, record.sku, record.name, record.price, record.stock - record.reserved
    )
    return ProductVariant.from_row(row, currency)


@strawberry.type
class ProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class ProductVariantPayload:
    product_variant: ProductVariant | None
    stock: int | None = strawberry.field(description="Units in stock, reserved ones included.")
    reserved: int | None = strawberry.field(description="Units held by checkouts awaiting payment.")
    deleted: bool | None
    user_errors: list[UserError]


@strawberry.type
class StockAdjustPayload:
    product_variant: ProductVariant | None
    stock: int | None
    reserved: int | None
    movement: InventoryMovement | None = strawberry.field(
        description="The ledger row written; null when the stock did not change."
    )
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: Category | None
    user_errors: list[UserError]


@strawberry.type
class AttributePayload:
    attribute: Attribute | None
    user_errors: list[UserError]


@strawberry.type
class AttributeValuePayload:
    attribute: Attribute | None
    attribute_value: AttributeValue | None
    user_errors: list[UserError]
