"""Order totals: shipping zones and methods, tax rates and classes, discount codes and their uses,
variant weights, and the totals snapshot on orders and order lines.

Revision ID: 0007_totals
Revises: 0006_jobs_mail
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0007_totals"
down_revision: str | None = "0006_jobs_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipping_zones",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.String, nullable=False, unique=True),
        sa.Column("countries", ARRAY(sa.String), nullable=False),
        sa.Column("regions", ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("postcode_prefixes", ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "shipping_methods",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "zone_id",
            sa.BigInteger,
            sa.ForeignKey("shipping_zones.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False, server_default="flat"),
        sa.Column("price", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bands", JSONB, nullable=False, server_default="[]"),
        sa.Column("free_above", sa.Integer),
        sa.Column("delivery_estimate", sa.String),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("kind IN ('flat', 'subtotal', 'weight')", name="ck_shipping_methods_kind"),
        sa.CheckConstraint(
            "price >= 0 AND (free_above IS NULL OR free_above >= 0)", name="ck_shipping_methods_price"
        ),
    )
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String, nullable=False, server_default=""),
        sa.Column("tax_class", sa.String, nullable=False, server_default="standard"),
        sa.Column("basis_points", sa.Integer, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.UniqueConstraint("country", "region", "tax_class", name="ux_tax_rates_place_class"),
        sa.CheckConstraint("tax_class IN ('standard', 'reduced', 'zero')", name="ck_tax_rates_class"),
        sa.CheckConstraint("basis_points >= 0 AND basis_points <= 10000", name="ck_tax_rates_basis_points"),
    )
    op.create_table(
        "discount_codes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.String, nullable=False, unique=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
        sa.Column("category_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
        sa.Column("product_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
        sa.Column("min_subtotal", sa.Integer, nullable=False, server_default="0"),
        sa.Column("starts_at", sa.DateTime(timezone=True)),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("usage_limit", sa.Integer),
        sa.Column("usage_limit_per_customer", sa.Integer),
        sa.Column("used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('percentage', 'fixed', 'free_shipping')", name="ck_discount_codes_kind"),
        sa.CheckConstraint(
            "value >= 0 AND (kind <> 'percentage' OR value <= 10000)", name="ck_discount_codes_value"
        ),
        sa.CheckConstraint(
            "used >= 0 AND (usage_limit IS NULL OR used <= usage_limit)", name="ck_discount_codes_used"
        ),
    )
    op.create_table(
        "cart_discount_codes",
        sa.Column("cart_id", sa.BigInteger, sa.ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "code_id", sa.BigInteger, sa.ForeignKey("discount_codes.id", ondelete="CASCADE"), nullable=False
        ),
    )

    op.add_column("products", sa.Column("tax_class", sa.String, nullable=False, server_default="standard"))
    op.add_column(
        "products", sa.Column("is_shipping_required", sa.Boolean, nullable=False, server_default=sa.true())
    )
    op.create_check_constraint(
        "ck_products_tax_class", "products", "tax_class IN ('standard', 'reduced', 'zero')"
    )
    op.add_column(
        "product_variants", sa.Column("weight_grams", sa.Integer, nullable=False, server_default="0")
    )
    op.create_check_constraint("ck_variant_weight_not_negative", "product_variants", "weight_grams >= 0")

    for name in ("discount", "shipping", "tax"):
        op.add_column("orders", sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    op.add_column(
        "orders", sa.Column("prices_include_tax", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("orders", sa.Column("tax_lines", JSONB, nullable=False, server_default="[]"))
    op.add_column(
        "orders",
        sa.Column(
            "shipping_method_id", sa.BigInteger, sa.ForeignKey("shipping_methods.id", ondelete="SET NULL")
        ),
    )
    op.add_column("orders", sa.Column("shipping_method_name", sa.String))
    op.add_column("orders", sa.Column("discount_codes", JSONB, nullable=False, server_default="[]"))
    op.add_column("orders", sa.Column("vat_number", sa.String))
    op.add_column(
        "orders", sa.Column("reverse_charge", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("orders", sa.Column("reverse_charge_reason", sa.String))
    op.add_column("orders", sa.Column("billing_address", JSONB))
    op.create_check_constraint(
        "ck_orders_totals_add_up",
        "orders",
        "discount >= 0 AND shipping >= 0 AND tax >= 0 AND discount <= subtotal AND total = subtotal"
        " - discount + shipping + CASE WHEN prices_include_tax THEN 0 ELSE tax END",
    )
    op.add_column("order_lines", sa.Column("discount", sa.Integer, nullable=False, server_default="0"))
    op.add_column("order_lines", sa.Column("tax", sa.Integer, nullable=False, server_default="0"))
    op.add_column("order_lines", sa.Column("tax_basis_points", sa.Integer))

    op.create_table(
        "discount_code_uses",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "code_id", sa.BigInteger, sa.ForeignKey("discount_codes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "order_id",
            sa.BigInteger,
            sa.ForeignKey("orders.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_discount_code_uses_live_email",
        "discount_code_uses",
        ["code_id", "email"],
        postgresql_where=sa.text("released_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("discount_code_uses")
    for name in ("tax_basis_points", "tax", "discount"):
        op.drop_column("order_lines", name)
    op.drop_constraint("ck_orders_totals_add_up", "orders", type_="check")
    for name in (
        "billing_address",
        "reverse_charge_reason",
        "reverse_charge",
        "vat_number",
        "discount_codes",
        "shipping_method_name",
        "shipping_method_id",
        "tax_lines",
        "prices_include_tax",
        "tax",
        "shipping",
        "discount",
    ):
        op.drop_column("orders", name)
    op.drop_constraint("ck_variant_weight_not_negative", "product_variants", type_="check")
    op.drop_column("product_variants", "weight_grams")
    op.drop_constraint("ck_products_tax_class", "products", type_="check")
    op.drop_column("products", "is_shipping_required")
    op.drop_column("products", "tax_class")
    op.drop_table("cart_discount_codes")
    op.drop_table("discount_codes")
    op.drop_table("tax_rates")
    op.drop_table("shipping_methods")
    op.drop_table("shipping_zones")
