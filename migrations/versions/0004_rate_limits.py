"""Rate-limit counters shared by every server process.

Revision ID: 0004_rate_limits
Revises: 0004_catalog_notify
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA

revision: str = "0004_rate_limits"
# Follows 0004_catalog_notify (which already follows 0003_orders), so that there is one head.
down_revision: str | None = "0004_catalog_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNLOGGED: counters are disposable, so an attempt costs no WAL flush; a crash only resets them.
    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.Text, nullable=False),
        sa.Column("key", BYTEA, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key", "window_start"),
        prefixes=["UNLOGGED"],
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
