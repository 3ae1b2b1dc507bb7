"""Tables of catalog administration (migration 0008): the inventory ledger and typed attributes.

An attribute (brand, colour, size...) has values; products and variants carry values of it
(`product_attribute_values`, `variant_attribute_values`), each row naming the attribute as well,
so a composite foreign key keeps a value with its own attribute and facets group without a join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
)
from sqlmodel import Field, SQLModel

STOCK_REASONS = ("restock", "correction", "damaged", "lost", "returned", "initial")
INPUT_TYPES = ("DROPDOWN", "MULTISELECT", "SWATCH", "BOOLEAN")


def _known(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class InventoryMovement(SQLModel, table=True):
    __tablename__ = "inventory_movements"
    __table_args__ = (
        CheckConstraint("quantity_after >= 0", name="ck_inventory_quantity_after_not_negative"),
        CheckConstraint(_known("reason", STOCK_REASONS), name="ck_inventory_reason_known"),
        Index("ix_inventory_movements_variant", "variant_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    variant_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("product_variants.id", ondelete="CASCADE"), nullable=False)
    )
    delta: int = Field(sa_column=Column(Integer, nullable=False))
    quantity_after: int = Field(sa_column=Column(Integer, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    actor_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    )
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class Attribute(SQLModel, table=True):
    __tablename__ = "attributes"
    __table_args__ = (
        CheckConstraint(_known("input_type", INPUT_TYPES), name="ck_attribute_input_type_known"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    slug: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    input_type: str = Field(
        default="DROPDOWN", sa_column=Column(Text, nullable=False, server_default="DROPDOWN")
    )
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class AttributeValue(SQLModel, table=True):
    __tablename__ = "attribute_values"
    __table_args__ = (
        UniqueConstraint("attribute_id", "slug", name="uq_attribute_values_slug"),
        UniqueConstraint("attribute_id", "id", name="uq_attribute_values_attribute_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    attribute_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("attributes.id", ondelete="CASCADE"), nullable=False)
    )
    slug: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


def _value_links(table: str, owner: str) -> tuple[Any, ...]:
    """A product's or variant's attribute values: one row per (owner, value), the value kept with its
    own attribute by the composite foreign key, indexed for facets by value and by attribute."""
    return (
        PrimaryKeyConstraint(owner, "value_id"),
        ForeignKeyConstraint(
            ["attribute_id", "value_id"],
            ["attribute_values.attribute_id", "attribute_values.id"],
            ondelete="CASCADE",
        ),
        Index(f"ix_{table}_value", "value_id", owner),
        Index(f"ix_{table}_attribute", "attribute_id", owner),
    )


class ProductAttributeValue(SQLModel, table=True):
    __tablename__ = "product_attribute_values"
    __table_args__ = _value_links("product_attribute_values", "product_id")

    product_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"), nullable=False)
    )
    attribute_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    value_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class VariantAttributeValue(SQLModel, table=True):
    __tablename__ = "variant_attribute_values"
    __table_args__ = _value_links("variant_attribute_values", "variant_id")

    variant_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("product_variants.id", ondelete="CASCADE"), nullable=False)
    )
    attribute_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    value_id: int = Field(sa_column=Column(BigInteger, nullable=False))
