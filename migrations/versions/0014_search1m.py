"""Facet counts at a million products: the newest-first indexes carry what facets count.

Facets count the first FACETS_EXACT_UP_TO matching products (models.product_facets) found by a
newest-first walk, over the catalog or per category. `ix_products_newest` and
`ix_products_category_newest` now INCLUDE the columns facets read (category, lowest price,
availability, and `is_active` for the catalog-wide index, which is not partial), so those walks
are index-only scans instead of a visit to the table per product (5,000 products in ~2 ms rather
than ~50 ms at 1,000,000 products). The page's own newest-first walks are unchanged.

Revision ID: 0014_search1m
Revises: 0012_catalog_scale
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_search1m"
down_revision: str | None = "0012_catalog_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX ix_products_newest")
    op.execute(
        "CREATE INDEX ix_products_newest ON products (created_at DESC, id DESC)"
        " INCLUDE (is_active, category_id, min_price, in_stock)"
    )
    op.execute("DROP INDEX ix_products_category_newest")
    op.execute(
        "CREATE INDEX ix_products_category_newest ON products (category_id, created_at DESC, id DESC)"
        " INCLUDE (min_price, in_stock) WHERE is_active"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_products_newest")
    op.execute("CREATE INDEX ix_products_newest ON products (created_at DESC, id DESC)")
    op.execute("DROP INDEX ix_products_category_newest")
    op.execute(
        "CREATE INDEX ix_products_category_newest ON products (category_id, created_at DESC, id DESC)"
        " WHERE is_active"
    )
