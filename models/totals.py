"""Tables of order totals: shipping zones and methods, tax rates, discount codes and their uses.

Money is an integer number of minor units, rates are basis points (1900 is 19 %), weights grams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

TAX_CLASSES = ("standard", "reduced", "zero")
METHOD_KINDS = ("flat", "subtotal", "weight")
DISCOUNT_KINDS = ("percentage", "fixed", "free_shipping")


class ShippingZone(SQLModel, table=True):
    """Countries (ISO 3166-1 alpha-2), optionally narrowed to regions ("CA" for California in the
    US, as the address's state) and postcode prefixes; empty lists mean the whole country."""

    __tablename__ = "shipping_zones"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    name: str = Field(sa_column=Column(String, nullable=False, unique=True))
    countries: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    regions: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String), nullable=False, server_default="{}")
    )
    postcode_prefixes: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String), nullable=False, server_default="{}")
    )
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class ShippingMethod(SQLModel, table=True):
    """`flat`: price; `subtotal`/`weight`: the price of the last band whose `from` the cart's
    subtotal (minor units) or weight (grams) reaches, else `price`; free from `free_above` on."""

    __tablename__ = "shipping_methods"
    __table_args__ = (
        CheckConstraint("kind IN ('flat', 'subtotal', 'weight')", name="ck_shipping_methods_kind"),
        CheckConstraint(
            "price >= 0 AND (free_above IS NULL OR free_above >= 0)", name="ck_shipping_methods_price"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    zone_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("shipping_zones.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str
    kind: str = Field(sa_column=Column(String, nullable=False, server_default="flat"))
    price: int = Field(sa_column=Column(Integer, nullable=False, server_default="0"))
    bands: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    free_above: int | None = Field(default=None, sa_column=Column(Integer))
    delivery_estimate: str | None = None
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class TaxRate(SQLModel, table=True):
    """A rate by country and region ("" for the whole country; a US state's code) and tax class."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("country", "region", "tax_class", name="ux_tax_rates_place_class"),
        CheckConstraint("tax_class IN ('standard', 'reduced', 'zero')", name="ck_tax_rates_class"),
        CheckConstraint("basis_points >= 0 AND basis_points <= 10000", name="ck_tax_rates_basis_points"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    country: str = Field(sa_column=Column(String(2), nullable=False))
    region: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))
    tax_class: str = Field(sa_column=Column(String, nullable=False, server_default="standard"))
    basis_points: int = Field(sa_column=Column(Integer, nullable=False))
    name: str


class DiscountCode(SQLModel, table=True):
    """`percentage`: value in basis points; `fixed`: value in minor units; `free_shipping`.
    Empty category_ids and product_ids: the whole order. `used` counts live uses (orders not
    cancelled unpaid); it never passes usage_limit (a CHECK, and the conditional UPDATE)."""

    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint("kind IN ('percentage', 'fixed', 'free_shipping')", name="ck_discount_codes_kind"),
        CheckConstraint(
            "value >= 0 AND (kind <> 'percentage' OR value <= 10000)", name="ck_discount_codes_value"
        ),
        CheckConstraint(
            "used >= 0 AND (usage_limit IS NULL OR used <= usage_limit)", name="ck_discount_codes_used"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    code: str = Field(sa_column=Column(String, nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String, nullable=False))
    value: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    category_ids: list[int] = Field(
        default_factory=list, sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}")
    )
    product_ids: list[int] = Field(
        default_factory=list, sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}")
    )
    min_subtotal: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    starts_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ends_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    usage_limit: int | None = Field(default=None, sa_column=Column(Integer))
    usage_limit_per_customer: int | None = Field(default=None, sa_column=Column(Integer))
    used: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class DiscountCodeUse(SQLModel, table=True):
    """One order's use of a code; released (and the code's `used` decremented) when the order is
    cancelled unpaid."""

    __tablename__ = "discount_code_uses"
    __table_args__ = (
        Index(
            "ix_discount_code_uses_live_email",
            "code_id",
            "email_index",
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    code_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("discount_codes.id", ondelete="CASCADE"), nullable=False)
    )
    order_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    # The blind index of the customer's e-mail (core.pii), never the e-mail itself.
    email_index: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class CartDiscountCode(SQLModel, table=True):
    """The code applied to a cart (one per cart; applying another replaces it)."""

    __tablename__ = "cart_discount_codes"

    cart_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True)
    )
    code_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("discount_codes.id", ondelete="CASCADE"), nullable=False)
    )
