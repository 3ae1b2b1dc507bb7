"""Cart tables: carts (anonymous by secret token, or a user's one active cart) and their lines.

A line keeps the unit price of the moment it was added (`unit_price`, `price_locked_at`) for
CART_PRICE_LOCK_TTL, for the units added while that price was current (`locked_quantity`);
after that it takes the variant's current price (domain.price_lock).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlmodel import Field, SQLModel


class Cart(SQLModel, table=True):
    __tablename__ = "carts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'merged', 'checked_out')", name="ck_carts_status"),
        Index(
            "ux_carts_one_active_per_user",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'active' AND user_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    token: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    user_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True),
    )
    status: str = Field(default="active", sa_column=Column(Text, nullable=False, server_default="active"))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    # Soft delete (an account deleted with its cart): every lookup skips deleted carts.
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class CartLine(SQLModel, table=True):
    __tablename__ = "cart_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_cart_lines_quantity_positive"),
        CheckConstraint("unit_price >= 0", name="ck_cart_lines_unit_price_not_negative"),
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_lines_cart_variant"),
        CheckConstraint("locked_quantity BETWEEN 0 AND quantity", name="ck_cart_lines_locked_quantity"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    cart_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("carts.id", ondelete="CASCADE"), nullable=False)
    )
    variant_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("product_variants.id"), nullable=False, index=True)
    )
    quantity: int = Field(sa_column=Column(Integer, nullable=False))
    unit_price: int = Field(sa_column=Column(Integer, nullable=False))
    price_locked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # The units added while `unit_price` was current: the only ones the lock covers.
    locked_quantity: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
