"""Catalog: categories, products, variants, and full-text and typo-tolerant search.

Revision ID: 0001_catalog
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001_catalog"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("parent_id", sa.BigInteger, sa.ForeignKey("categories.id", ondelete="SET NULL")),
        sa.Column("slug", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_categories_parent_id", "categories", ["parent_id"])

    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("slug", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=False, server_default=""),
        sa.Column("category_id", sa.BigInteger, sa.ForeignKey("categories.id", ondelete="SET NULL")),
        sa.Column("images", JSONB, nullable=False, server_default="[]"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column(
            "search_vector",
            sa.dialects.postgresql.TSVECTOR,
            sa.Computed(
                "setweight(to_tsvector('english', name), 'A')"
                " || setweight(to_tsvector('english', description), 'B')",
                persisted=True,
            ),
        ),
    )
    op.create_index("ix_products_category_id", "products", ["category_id"])
    op.create_index("ix_products_newest", "products", [sa.text("created_at DESC"), sa.text("id DESC")])
    op.create_index("ix_products_search_vector", "products", ["search_vector"], postgresql_using="gin")

    op.create_table(
        "product_variants",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "product_id", sa.BigInteger, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("sku", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("price", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("price >= 0", name="ck_variant_price_not_negative"),
        sa.CheckConstraint("reserved >= 0 AND reserved <= stock", name="ck_variant_reserved_within_stock"),
    )
    op.create_index("ix_product_variants_product_id", "product_variants", ["product_id", "position", "id"])

    # The search lexicon: every word of every product's name and description, kept by a
    # trigger, with a trigram index so a misspelt query word finds its nearest real word.
    op.create_table("search_terms", sa.Column("term", sa.String, primary_key=True))
    op.execute("CREATE INDEX ix_search_terms_trgm ON search_terms USING gin (term gin_trgm_ops)")
    op.execute(
        """
        CREATE FUNCTION products_collect_search_terms() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_terms (term)
            SELECT DISTINCT word
            FROM regexp_split_to_table(lower(NEW.name || ' ' || NEW.description), '[^[:alnum:]]+') AS word
            WHERE length(word) >= 3
            ON CONFLICT DO NOTHING;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER products_collect_search_terms
        AFTER INSERT OR UPDATE OF name, description ON products
        FOR EACH ROW EXECUTE FUNCTION products_collect_search_terms()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS products_collect_search_terms ON products")
    op.execute("DROP FUNCTION IF EXISTS products_collect_search_terms()")
    op.drop_table("search_terms")
    op.drop_table("product_variants")
    op.drop_table("products")
    op.drop_table("categories")
