"""Accounts and carts: users, refresh tokens (rotated, in families), carts and their lines.

Revision ID: 0002_accounts_carts
Revises: 0001_catalog
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, UUID

revision: str = "0002_accounts_carts"
down_revision: str | None = "0001_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("is_staff", sa.Boolean, nullable=False, server_default=sa.false()),
        _created_at(),
    )
    op.create_index("ux_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False),
        sa.Column("token_hash", BYTEA, nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])

    op.create_table(
        "carts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("token", sa.Text, nullable=False, unique=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('active', 'merged', 'checked_out')", name="ck_carts_status"),
    )
    op.create_index(
        "ux_carts_one_active_per_user",
        "carts",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active' AND user_id IS NOT NULL"),
    )
    op.create_index("ix_carts_user_id", "carts", ["user_id"])

    op.create_table(
        "cart_lines",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("cart_id", sa.BigInteger, sa.ForeignKey("carts.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "variant_id", sa.BigInteger, sa.ForeignKey("product_variants.id"), nullable=False, index=True
        ),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Integer, nullable=False),
        sa.Column("price_locked_at", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
        sa.CheckConstraint("quantity > 0", name="ck_cart_lines_quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="ck_cart_lines_unit_price_not_negative"),
        sa.UniqueConstraint("cart_id", "variant_id", name="uq_cart_lines_cart_variant"),
    )


def downgrade() -> None:
    op.drop_table("cart_lines")
    op.drop_table("carts")
    op.drop_table("refresh_tokens")
    op.drop_table("users")
