"""Orders, their lines and status history, and processed payment-provider events.

Revision ID: 0003_orders
Revises: 0002_accounts_carts
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0003_orders"
down_revision: str | None = "0002_accounts_carts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "PENDING",
    "AWAITING_PAYMENT",
    "PAID",
    "PROCESSING",
    "SHIPPED",
    "DELIVERED",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "REFUNDED",
)
STATUS_LIST = ", ".join(f"'{status}'" for status in STATUSES)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE order_numbers START WITH 1001")
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "public_id",
            UUID(as_uuid=True),
            nullable=False,
            unique=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column(
            "number",
            sa.BigInteger,
            nullable=False,
            unique=True,
            server_default=sa.text("nextval('order_numbers')"),
        ),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True),
        sa.Column("cart_id", sa.BigInteger, sa.ForeignKey("carts.id", ondelete="SET NULL")),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("shipping_address", JSONB, nullable=False),
        sa.Column("tracking_number", sa.String),
        # reserved -> committed (paid) or released; committed -> restocked (cancelled or refunded before shipping)
        sa.Column("stock_state", sa.String, nullable=False, server_default="reserved"),
        sa.Column("reservation_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_session_id", sa.String, unique=True),
        sa.Column("payment_url", sa.String),
        sa.Column("success_url", sa.String),
        sa.Column("cancel_url", sa.String),
        sa.Column("payment_intent_id", sa.String, index=True),
        sa.Column("refund_id", sa.String),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"status IN ({STATUS_LIST})", name="ck_orders_status"),
        sa.CheckConstraint(
            "stock_state IN ('reserved', 'committed', 'released', 'restocked')", name="ck_orders_stock_state"
        ),
        sa.CheckConstraint("subtotal >= 0 AND total >= 0", name="ck_orders_amounts_not_negative"),
    )
    # One live order per cart: a double-clicked checkout finds the first one.
    op.create_index(
        "ux_orders_cart_id",
        "orders",
        ["cart_id"],
        unique=True,
        postgresql_where=sa.text("cart_id IS NOT NULL"),
    )
    op.create_index(
        "ix_orders_awaiting_expiry",
        "orders",
        ["reservation_expires_at"],
        postgresql_where=sa.text("status = 'AWAITING_PAYMENT'"),
    )
    op.create_index(
        "ix_orders_user_newest", "orders", ["user_id", sa.text("created_at DESC"), sa.text("id DESC")]
    )

    op.create_table(
        "order_lines",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "order_id",
            sa.BigInteger,
            sa.ForeignKey("orders.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("variant_id", sa.BigInteger, sa.ForeignKey("product_variants.id", ondelete="SET NULL")),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("product_name", sa.String, nullable=False),
        sa.Column("variant_name", sa.String, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Integer, nullable=False),
        sa.Column("line_total", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "quantity > 0 AND unit_price >= 0 AND line_total = quantity * unit_price",
            name="ck_order_lines_amounts",
        ),
    )

    op.create_table(
        "order_status_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("order_id", sa.BigInteger, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_status", sa.String),
        sa.Column("to_status", sa.String, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.clock_timestamp()),
        sa.Column("reason", sa.String),
        sa.Column("actor", sa.String, nullable=False),
    )
    op.create_index("ix_order_status_history_order", "order_status_history", ["order_id", "id"])

    op.create_table(
        "processed_payment_events",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("order_id", sa.BigInteger, sa.ForeignKey("orders.id", ondelete="SET NULL")),
        sa.Column("outcome", sa.String, nullable=False, server_default="recorded"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("processed_payment_events")
    op.drop_table("order_status_history")
    op.drop_table("order_lines")
    op.drop_table("orders")
    op.execute("DROP SEQUENCE order_numbers")
