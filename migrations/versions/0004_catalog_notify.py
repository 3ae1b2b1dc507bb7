"""Announce catalog writes: pg_notify('catalog_changed') from every statement that changes it.

Revision ID: 0004_catalog_notify
Revises: 0003_orders
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_catalog_notify"
down_revision: str | None = "0003_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("categories", "products", "product_variants")


def upgrade() -> None:
    # Delivered after commit, once per transaction: caches of catalog answers drop them then.
    op.execute(
        """
        CREATE FUNCTION notify_catalog_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('catalog_changed', '');
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_catalog_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS notify_catalog_changed()")
