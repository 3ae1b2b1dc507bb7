"""Catalog imports uploaded over HTTP (the dashboard): the file, its progress and its report.

An upload is stored here and run by a job (jobs/, `import_catalog`), so any worker on any host can
run it and staff follow its progress (rows read so far) from another connection. The file is
dropped (content NULL) once the run ends; the report stays.

Revision ID: 0009_catalog_ops
Revises: 0008_catalog_admin
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_catalog_ops"
down_revision: str | None = "0008_catalog_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_imports",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("created_by", sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("filename", sa.Text, nullable=False, server_default=""),
        sa.Column("content", sa.LargeBinary),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("partial", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
        sa.Column("report", postgresql.JSONB),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name="ck_catalog_import_status_known"
        ),
    )
    op.create_index("ix_catalog_imports_created_at", "catalog_imports", ["created_at"])


def downgrade() -> None:
    op.drop_table("catalog_imports")
