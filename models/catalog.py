"""Catalog tables: categories (a tree), products and their variants.

Money is an integer number of minor units. `reserved` counts units held by live
checkouts, so `stock - reserved` is what can be bought now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("categories.id", ondelete="SET NULL"), index=True),
    )
    slug: str = Field(unique=True)
    name: str
    position: int = 0


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    slug: str = Field(unique=True)
    name: str
    description: str = ""
    category_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("categories.id", ondelete="SET NULL"), index=True),
    )
    images: list[dict[str, str | None]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    is_active: bool = True
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class ProductVariant(SQLModel, table=True):
    __tablename__ = "product_variants"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    product_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    sku: str = Field(unique=True)
    name: str
    price: int = Field(sa_column=Column(Integer, nullable=False))
    stock: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    reserved: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    position: int = 0
