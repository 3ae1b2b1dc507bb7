"""Product reviews: one per customer and product, rated 1 to 5, plain text; staff may hide one.

A product's rating covers its shown reviews: `products.rating_count`, `rating_sum` and the sort
key `rating_key` (average to four decimals, then count, in one bigint; 0 without reviews) are kept
by a row trigger on `reviews` in the writing transaction (migration 0011_reviews), whatever writes
them (a submission, staff hiding one, an account or a product deleted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlmodel import Field, SQLModel

from models.catalog import Product


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="ck_reviews_rating"),
        UniqueConstraint("user_id", "product_id", name="ux_reviews_user_product"),
        Index("ix_reviews_product_newest", "product_id", text("created_at DESC"), text("id DESC")),
        Index("ix_reviews_product_rating", "product_id", "rating", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    product_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    rating: int = Field(sa_column=Column(SmallInteger, nullable=False))
    title: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    body: str = Field(sa_column=Column(Text, nullable=False))
    is_hidden: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    updated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


# The catalog's RATING sort, by keyset (models.product_page): highest average, then most reviews.
_products = Product.__table__
Index(
    "ix_products_rating",
    _products.c.rating_key.desc(),
    _products.c.id.desc(),
    postgresql_where=_products.c.is_active,
)
