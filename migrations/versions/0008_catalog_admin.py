"""Catalog administration: soft deletes, stock constraints, the inventory ledger, attributes.

- products.deleted_at, product_variants.deleted_at: soft deletes (hidden from the storefront,
  kept for order history and re-activation).
- CHECK constraints back every stock and price invariant (stock >= 0, 0 <= reserved <= stock,
  price >= 0 were partly there; stock >= 0 and position >= 0 are added), and a trigger refuses a
  category tree with a cycle, whatever path writes it.
- inventory_movements: the ledger of every staff stock adjustment (delta, quantity after, reason).
- attributes, attribute_values, product_attribute_values, variant_attribute_values: typed
  attributes with their values on products or variants (filters and facets), announced on the
  catalog_changed channel like the other catalog tables (0004_catalog_notify).

Revision ID: 0008_catalog_admin
Revises: 0006_jobs_mail
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_catalog_admin"
down_revision: str | None = "0006_jobs_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = ("restock", "correction", "damaged", "lost", "returned", "initial")
INPUT_TYPES = ("DROPDOWN", "MULTISELECT", "SWATCH", "BOOLEAN")
NOTIFIED = ("attributes", "attribute_values", "product_attribute_values", "variant_attribute_values")


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.add_column("products", sa.Column("deleted_at", sa.DateTime(timezone=True)))
    op.add_column("product_variants", sa.Column("deleted_at", sa.DateTime(timezone=True)))
    op.create_check_constraint("ck_variant_stock_not_negative", "product_variants", "stock >= 0")
    op.create_check_constraint("ck_variant_position_not_negative", "product_variants", "position >= 0")
    op.create_check_constraint(
        "ck_category_not_own_parent", "categories", "parent_id IS NULL OR parent_id <> id"
    )
    op.create_check_constraint("ck_category_position_not_negative", "categories", "position >= 0")
    # A category may not be its own ancestor, whoever moves it.
    op.execute(
        """
        CREATE FUNCTION categories_refuse_cycles() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.parent_id IS NOT NULL AND EXISTS (
                WITH RECURSIVE ancestors(id) AS (
                    SELECT NEW.parent_id
                    UNION
                    SELECT c.parent_id FROM categories c JOIN ancestors a ON c.id = a.id
                    WHERE c.parent_id IS NOT NULL
                )
                SELECT 1 FROM ancestors WHERE id = NEW.id
            ) THEN
                RAISE EXCEPTION 'category % would be its own ancestor', NEW.id
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_category_no_cycle';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER categories_refuse_cycles BEFORE INSERT OR UPDATE OF parent_id ON categories"
        " FOR EACH ROW EXECUTE FUNCTION categories_refuse_cycles()"
    )

    op.create_table(
        "inventory_movements",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "variant_id",
            sa.BigInteger,
            sa.ForeignKey("product_variants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("quantity_after", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("actor_user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL")),
        _created_at(),
        sa.CheckConstraint("quantity_after >= 0", name="ck_inventory_quantity_after_not_negative"),
        sa.CheckConstraint(
            "reason IN (" + ", ".join(f"'{reason}'" for reason in REASONS) + ")",
            name="ck_inventory_reason_known",
        ),
    )
    op.create_index("ix_inventory_movements_variant", "inventory_movements", ["variant_id", "id"])

    op.create_table(
        "attributes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("slug", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("input_type", sa.Text, nullable=False, server_default="DROPDOWN"),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint(
            "input_type IN (" + ", ".join(f"'{kind}'" for kind in INPUT_TYPES) + ")",
            name="ck_attribute_input_type_known",
        ),
    )
    op.create_table(
        "attribute_values",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "attribute_id", sa.BigInteger, sa.ForeignKey("attributes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("attribute_id", "slug", name="uq_attribute_values_slug"),
        sa.UniqueConstraint("attribute_id", "id", name="uq_attribute_values_attribute_id"),
    )
    for owner, table in (("product", "products"), ("variant", "product_variants")):
        op.create_table(
            f"{owner}_attribute_values",
            sa.Column(
                f"{owner}_id", sa.BigInteger, sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False
            ),
            sa.Column("attribute_id", sa.BigInteger, nullable=False),
            sa.Column("value_id", sa.BigInteger, nullable=False),
            sa.PrimaryKeyConstraint(f"{owner}_id", "value_id"),
            # The value belongs to the attribute the row names.
            sa.ForeignKeyConstraint(
                ["attribute_id", "value_id"],
                ["attribute_values.attribute_id", "attribute_values.id"],
                ondelete="CASCADE",
            ),
        )
        # Filters and facets go from a value to its items.
        op.create_index(
            f"ix_{owner}_attribute_values_value", f"{owner}_attribute_values", ["value_id", f"{owner}_id"]
        )
        op.create_index(
            f"ix_{owner}_attribute_values_attribute",
            f"{owner}_attribute_values",
            ["attribute_id", f"{owner}_id"],
        )
    for table in NOTIFIED:
        op.execute(
            f"CREATE TRIGGER {table}_notify_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"
        )


def downgrade() -> None:
    for table in NOTIFIED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_catalog_changed ON {table}")
    op.drop_table("variant_attribute_values")
    op.drop_table("product_attribute_values")
    op.drop_table("attribute_values")
    op.drop_table("attributes")
    op.drop_table("inventory_movements")
    op.execute("DROP TRIGGER IF EXISTS categories_refuse_cycles ON categories")
    op.execute("DROP FUNCTION IF EXISTS categories_refuse_cycles()")
    op.drop_constraint("ck_category_position_not_negative", "categories")
    op.drop_constraint("ck_category_not_own_parent", "categories")
    op.drop_constraint("ck_variant_position_not_negative", "product_variants")
    op.drop_constraint("ck_variant_stock_not_negative", "product_variants")
    op.drop_column("product_variants", "deleted_at")
    op.drop_column("products", "deleted_at")
