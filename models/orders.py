"""Order tables: orders with snapshots of their lines, the status history, and payment events seen."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
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
    Sequence,
    String,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlmodel import Field, SQLModel

from core.pii import EncryptedJSON, EncryptedText


class OrderStatus(StrEnum):
    """The one list of order statuses: the state machine (domain.orders) and every query use it."""

    PENDING = "PENDING"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PAID = "PAID"
    PROCESSING = "PROCESSING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


# Order numbers (human-friendly, increasing) come from their own sequence, starting at 1001.
ORDER_NUMBERS = Sequence("order_numbers", start=1001, metadata=SQLModel.metadata)
_AWAITING_PAYMENT = text(f"status = '{OrderStatus.AWAITING_PAYMENT}'")


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(f"'{status}'" for status in OrderStatus)),
            name="ck_orders_status",
        ),
        CheckConstraint(
            "stock_state IN ('reserved', 'committed', 'released', 'restocked')", name="ck_orders_stock_state"
        ),
        CheckConstraint("subtotal >= 0 AND total >= 0", name="ck_orders_amounts_not_negative"),
        # domain.totals: the components add up, on every order (migration 0007).
        CheckConstraint(
            "discount >= 0 AND shipping >= 0 AND tax >= 0 AND discount <= subtotal AND total = subtotal"
            " - discount + shipping + CASE WHEN prices_include_tax THEN 0 ELSE tax END",
            name="ck_orders_totals_add_up",
        ),
        # One live order per cart: a double-clicked checkout finds the first one.
        Index("ux_orders_cart_id", "cart_id", unique=True, postgresql_where=text("cart_id IS NOT NULL")),
        Index("ix_orders_awaiting_expiry", "reservation_expires_at", postgresql_where=_AWAITING_PAYMENT),
        Index("ix_orders_user_newest", "user_id", text("created_at DESC"), text("id DESC")),
        # What one shopper holds unpaid (domain.holding_limits).
        Index("ix_orders_open_by_client_key", "client_key", postgresql_where=_AWAITING_PAYMENT),
        Index("ix_orders_open_by_email", "email_index", postgresql_where=_AWAITING_PAYMENT),
        Index("ix_orders_open_by_user_id", "user_id", postgresql_where=_AWAITING_PAYMENT),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    public_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            UUID(as_uuid=True), nullable=False, unique=True, server_default=text("gen_random_uuid()")
        ),
    )
    number: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, nullable=False, unique=True, server_default=text("nextval('order_numbers')")
        ),
    )
    user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    )
    cart_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("carts.id", ondelete="SET NULL"))
    )
    email: str = Field(sa_column=Column(EncryptedText("orders.email"), nullable=False))
    # Blind index of the e-mail (core.pii): what holding limits count by; null once erased.
    email_index: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    status: str
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    subtotal: int = Field(sa_column=Column(Integer, nullable=False))
    total: int = Field(sa_column=Column(Integer, nullable=False))
    shipping_address: dict[str, Any] = Field(
        sa_column=Column(EncryptedJSON("orders.shipping_address"), nullable=False)
    )
    # The totals snapshot (domain.totals, migration 0007): what was charged, never recomputed.
    discount: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    shipping: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    tax: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    prices_include_tax: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # [{"name": "VAT DE 19%", "basis_points": 1900, "amount": 694}]
    tax_lines: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    shipping_method_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("shipping_methods.id", ondelete="SET NULL"))
    )
    shipping_method_name: str | None = None
    discount_codes: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    vat_number: str | None = None
    reverse_charge: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    reverse_charge_reason: str | None = None
    billing_address: dict[str, Any] | None = Field(
        default=None, sa_column=Column(EncryptedJSON("orders.billing_address"))
    )
    tracking_number: str | None = None
    # reserved -> committed (paid) or released; committed -> restocked (cancelled or refunded unshipped)
    stock_state: str = Field(
        default="reserved", sa_column=Column(String, nullable=False, server_default="reserved")
    )
    reservation_expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    payment_session_id: str | None = Field(default=None, sa_column=Column(String, unique=True))
    payment_url: str | None = None
    success_url: str | None = None
    cancel_url: str | None = None
    payment_intent_id: str | None = Field(default=None, sa_column=Column(String, index=True))
    refund_id: str | None = None
    paid_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # A digest of the client address that checked out (caps what one shopper holds unpaid).
    client_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint(
            "quantity > 0 AND unit_price >= 0 AND line_total = quantity * unit_price",
            name="ck_order_lines_amounts",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    order_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    variant_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("product_variants.id", ondelete="SET NULL"))
    )
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: int
    line_total: int
    # The line's part of the order's discount and its tax (domain.totals, migration 0007).
    discount: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    tax: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    tax_basis_points: int | None = Field(default=None, sa_column=Column(Integer))


class OrderStatusChange(SQLModel, table=True):
    __tablename__ = "order_status_history"
    __table_args__ = (Index("ix_order_status_history_order", "order_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    order_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    )
    from_status: str | None = None
    to_status: str
    # The moment of the change itself, not of its transaction's start (several changes, one transaction).
    at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
    )
    reason: str | None = None
    actor: str


class ProcessedPaymentEvent(SQLModel, table=True):
    __tablename__ = "processed_payment_events"

    event_id: str = Field(primary_key=True)
    type: str
    order_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("orders.id", ondelete="SET NULL"))
    )
    outcome: str = Field(
        default="recorded", sa_column=Column(String, nullable=False, server_default="recorded")
    )
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
