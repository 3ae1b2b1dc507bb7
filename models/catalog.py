"""Catalog tables: categories (a tree), products and their variants.

Money is an integer number of minor units. `reserved` counts units held by live
checkouts, so `stock - reserved` is what can be bought now. A product's `search_vector` is
computed by PostgreSQL from its name and description; `search_terms` is the lexicon of their
words, kept by a trigger (migration 0001), whose trigram index finds the nearest real word to a
misspelt one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlmodel import Field, SQLModel


class Category(SQLModel, table=True):
    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_category_not_own_parent"),
        CheckConstraint("position >= 0", name="ck_category_position_not_negative"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("categories.id", ondelete="SET NULL"), index=True),
    )
    slug: str = Field(unique=True)
    name: str
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        # Migration 0014: the newest-first indexes include what facet counts read (index-only walks).
        Index(
            "ix_products_newest",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_include=["is_active", "category_id", "min_price", "in_stock"],
        ),
        Index("ix_products_search_vector", "search_vector", postgresql_using="gin"),
        # Migration 0012: a page in any sort, over the catalog or within a category, is an index walk.
        Index("ix_products_name", "name", "id", postgresql_where=text("is_active")),
        Index("ix_products_min_price", "min_price", "id", postgresql_where=text("is_active")),
        Index(
            "ix_products_category_newest",
            "category_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_include=["min_price", "in_stock"],
            postgresql_where=text("is_active"),
        ),
        Index("ix_products_category_name", "category_id", "name", "id", postgresql_where=text("is_active")),
        Index(
            "ix_products_category_min_price",
            "category_id",
            "min_price",
            "id",
            postgresql_where=text("is_active"),
        ),
        CheckConstraint("tax_class IN ('standard', 'reduced', 'zero')", name="ck_products_tax_class"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    slug: str = Field(unique=True)
    name: str
    description: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))
    category_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("categories.id", ondelete="SET NULL")),
    )
    images: list[dict[str, str | None]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    # Soft delete (migration 0008): set with is_active false; kept for order history and re-activation.
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # Order totals (migration 0007): the tax class of domain.tax, and whether it ships at all.
    tax_class: str = Field(
        default="standard", sa_column=Column(String, nullable=False, server_default="standard")
    )
    is_shipping_required: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    # The shown reviews' count and sum, and the RATING sort key, kept by a trigger (models/reviews.py).
    rating_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    rating_sum: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    rating_key: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    # Kept by triggers on product_variants (migration 0012), in the writing transaction: the
    # lowest and highest variant price, and whether some variant has stock beyond reservations.
    min_price: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    max_price: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    in_stock: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    search_vector: str | None = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed(
                "setweight(to_tsvector('english', name), 'A')"
                " || setweight(to_tsvector('english', description), 'B')",
                persisted=True,
            ),
        ),
    )


class ProductVariant(SQLModel, table=True):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_variant_price_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= stock", name="ck_variant_reserved_within_stock"),
        CheckConstraint("stock >= 0", name="ck_variant_stock_not_negative"),
        CheckConstraint("position >= 0", name="ck_variant_position_not_negative"),
        CheckConstraint("weight_grams >= 0", name="ck_variant_weight_not_negative"),
        Index("ix_product_variants_product_id", "product_id", "position", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    product_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"), nullable=False)
    )
    sku: str = Field(unique=True)
    name: str
    price: int = Field(sa_column=Column(Integer, nullable=False))
    stock: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    reserved: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Soft delete (migration 0008): a deleted variant is not for sale; orders keep their snapshots.
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # Grams, for shipping methods priced by weight (migration 0007).
    weight_grams: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class SearchTerm(SQLModel, table=True):
    __tablename__ = "search_terms"
    __table_args__ = (
        Index(
            "ix_search_terms_trgm", "term", postgresql_using="gin", postgresql_ops={"term": "gin_trgm_ops"}
        ),
    )

    term: str = Field(sa_column=Column(String, primary_key=True))
