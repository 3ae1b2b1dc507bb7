"""Order tables: orders with snapshots of their lines, the status history, and payment events seen."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlmodel import Field, SQLModel


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


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    public_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=False, unique=True)
    )
    number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=False, unique=True))
    user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    )
    cart_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("carts.id", ondelete="SET NULL"))
    )
    email: str
    status: str
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    subtotal: int = Field(sa_column=Column(Integer, nullable=False))
    total: int = Field(sa_column=Column(Integer, nullable=False))
    shipping_address: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    tracking_number: str | None = None
    stock_state: str = "reserved"
    reservation_expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    payment_session_id: str | None = None
    payment_url: str | None = None
    success_url: str | None = None
    cancel_url: str | None = None
    payment_intent_id: str | None = None
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

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    order_id: int = Field(sa_column=Column(BigInteger, ForeignKey("orders.id"), nullable=False))
    variant_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("product_variants.id"))
    )
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: int
    line_total: int


class OrderStatusChange(SQLModel, table=True):
    __tablename__ = "order_status_history"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    order_id: int = Field(sa_column=Column(BigInteger, ForeignKey("orders.id"), nullable=False))
    from_status: str | None = None
    to_status: str
    at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    reason: str | None = None
    actor: str


class ProcessedPaymentEvent(SQLModel, table=True):
    __tablename__ = "processed_payment_events"

    event_id: str = Field(primary_key=True)
    type: str
    order_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("orders.id")))
    outcome: str = "recorded"
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
