"""Price locks that cover only the units added at the locked price; what a shopper holds, countable.

Revision ID: 0005_abuse_limits
Revises: 0004_rate_limits
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA

revision: str = "0005_abuse_limits"
down_revision: str | None = "0004_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Until now a lock covered every unit of its line: existing lines keep that.
    op.add_column("cart_lines", sa.Column("locked_quantity", sa.Integer, nullable=True))
    op.execute("UPDATE cart_lines SET locked_quantity = quantity")
    op.alter_column("cart_lines", "locked_quantity", nullable=False)
    op.create_check_constraint(
        "ck_cart_lines_locked_quantity", "cart_lines", "locked_quantity BETWEEN 0 AND quantity"
    )
    # Who placed an unpaid order (a digest of the client address), to cap what one shopper holds.
    op.add_column("orders", sa.Column("client_key", BYTEA, nullable=True))
    for column in ("client_key", "email", "user_id"):
        op.create_index(
            f"ix_orders_open_by_{column}",
            "orders",
            [column],
            postgresql_where=sa.text("status = 'AWAITING_PAYMENT'"),
        )


def downgrade() -> None:
    for column in ("client_key", "email", "user_id"):
        op.drop_index(f"ix_orders_open_by_{column}", table_name="orders")
    op.drop_column("orders", "client_key")
    op.drop_constraint("ck_cart_lines_locked_quantity", "cart_lines")
    op.drop_column("cart_lines", "locked_quantity")
