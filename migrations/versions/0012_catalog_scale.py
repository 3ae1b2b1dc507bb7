"""Catalog reads that do not grow with the catalog; a cache that survives orders.

- `products.min_price`, `max_price` and `in_stock` (some variant has stock beyond its
  reservations) are kept by statement triggers on `product_variants`, in the writing
  transaction, whatever path writes (staff edits, imports, checkout, payments). A statement that
  only moves stock takes no lock on the product and writes it only when availability flips;
  one that flips a variant's availability, changes a price or adds/removes variants locks its
  products (FOR NO KEY UPDATE, in id order) before it re-aggregates, so concurrent checkouts of
  the last units of two variants of one product cannot both leave `in_stock` true.
- Indexes for every sort of a page, over the whole catalog and within a category (see
  bench/plans-1m.md for the plans they give at 1,000,000 products).
- The `catalog_changed` notification of variant writes (migration 0004) now says what changed: a
  write of stock or reservations only sends `stock:<product id>,...` (the cache drops the answers
  holding those products); anything else sends '' (the cache drops everything), as before.

Revision ID: 0012_catalog_scale
Revises: 0006_jobs_mail
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_catalog_scale"
down_revision: str | None = "0011_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_products_name": "name, id",
    "ix_products_min_price": "min_price, id",
    "ix_products_category_newest": "category_id, created_at DESC, id DESC",
    "ix_products_category_name": "category_id, name, id",
    "ix_products_category_min_price": "category_id, min_price, id",
}


def upgrade() -> None:
    op.add_column("products", sa.Column("min_price", sa.Integer, nullable=False, server_default="0"))
    op.add_column("products", sa.Column("max_price", sa.Integer, nullable=False, server_default="0"))
    op.add_column("products", sa.Column("in_stock", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute(
        """
        UPDATE products AS p
        SET min_price = s.min_price, max_price = s.max_price, in_stock = s.in_stock
        FROM (
            SELECT product_id, min(price) AS min_price, max(price) AS max_price,
                   bool_or(stock > reserved) AS in_stock
            FROM product_variants WHERE deleted_at IS NULL GROUP BY product_id
        ) AS s
        WHERE p.id = s.product_id
        """
    )
    for name, columns in INDEXES.items():
        # Of active products only: what pages walk and counts count (index-only, when they can).
        op.execute(f"CREATE INDEX {name} ON products ({columns}) WHERE is_active")
    # The old (category_id) index is a prefix of the category indexes.
    op.drop_index("ix_products_category_id", table_name="products")
    # Statistics of the new columns, for the planner.
    op.execute("ANALYZE products")

    op.execute(
        """
        CREATE FUNCTION refresh_product_summaries(product_ids bigint[], lock_first boolean)
        RETURNS void LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF lock_first THEN
                -- Serialises writers that may flip a product; the next statement's snapshot
                -- then sees what the one before us committed.
                PERFORM 1 FROM products WHERE id = ANY(product_ids) ORDER BY id FOR NO KEY UPDATE;
            END IF;
            UPDATE products AS p
            SET min_price = s.min_price, max_price = s.max_price, in_stock = s.in_stock
            FROM (
                SELECT wanted.id AS product_id,
                       coalesce(min(v.price), 0) AS min_price,
                       coalesce(max(v.price), 0) AS max_price,
                       coalesce(bool_or(v.stock > v.reserved), false) AS in_stock
                FROM unnest(product_ids) AS wanted(id)
                LEFT JOIN product_variants AS v
                       ON v.product_id = wanted.id AND v.deleted_at IS NULL -- soft-deleted (0008)
                GROUP BY wanted.id
            ) AS s
            WHERE p.id = s.product_id
              AND (p.min_price, p.max_price, p.in_stock)
                  IS DISTINCT FROM (s.min_price, s.max_price, s.in_stock);
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION product_variants_inserted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM refresh_product_summaries(
                ARRAY(SELECT DISTINCT product_id FROM new_rows ORDER BY 1), true);
            PERFORM pg_notify('catalog_changed', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION product_variants_deleted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM refresh_product_summaries(
                ARRAY(SELECT DISTINCT product_id FROM old_rows ORDER BY 1), true);
            PERFORM pg_notify('catalog_changed', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION product_variants_updated() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            content_changed boolean;
            flipped boolean;
            touched bigint[];
            payload text;
        BEGIN
            -- Content: any column but stock and reserved (columns added later count as content).
            SELECT coalesce(bool_or(
                       (to_jsonb(o) - ARRAY['stock', 'reserved']) IS DISTINCT FROM
                       (to_jsonb(n) - ARRAY['stock', 'reserved'])), false),
                   coalesce(bool_or((o.stock > o.reserved) IS DISTINCT FROM (n.stock > n.reserved)), false),
                   ARRAY(SELECT DISTINCT product_id FROM (
                       SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows
                   ) AS both_sides ORDER BY 1)
            INTO content_changed, flipped, touched
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id;
            IF touched IS NULL OR cardinality(touched) = 0 THEN
                RETURN NULL;
            END IF;
            IF content_changed OR flipped THEN
                PERFORM refresh_product_summaries(touched, true);
            END IF;
            IF content_changed THEN
                PERFORM pg_notify('catalog_changed', '');
            ELSE
                payload := 'stock:' || array_to_string(touched, ',');
                -- NOTIFY payloads stop below 8000 bytes: a bulk stock change drops everything.
                PERFORM pg_notify('catalog_changed', CASE WHEN length(payload) < 7000 THEN payload ELSE '' END);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute("DROP TRIGGER product_variants_notify_catalog_changed ON product_variants")
    op.execute(
        "CREATE TRIGGER product_variants_inserted AFTER INSERT ON product_variants"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION product_variants_inserted()"
    )
    op.execute(
        "CREATE TRIGGER product_variants_updated AFTER UPDATE ON product_variants"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION product_variants_updated()"
    )
    op.execute(
        "CREATE TRIGGER product_variants_deleted AFTER DELETE ON product_variants"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION product_variants_deleted()"
    )
    # TRUNCATE has no transition tables; it empties the catalog's variants: drop everything.
    op.execute(
        "CREATE TRIGGER product_variants_truncated AFTER TRUNCATE ON product_variants"
        " FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"
    )


def downgrade() -> None:
    for name in ("inserted", "updated", "deleted", "truncated"):
        op.execute(f"DROP TRIGGER IF EXISTS product_variants_{name} ON product_variants")
    for name in ("inserted", "updated", "deleted"):
        op.execute(f"DROP FUNCTION IF EXISTS product_variants_{name}()")
    op.execute("DROP FUNCTION IF EXISTS refresh_product_summaries(bigint[], boolean)")
    op.execute(
        "CREATE TRIGGER product_variants_notify_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
        " ON product_variants FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"
    )
    op.create_index("ix_products_category_id", "products", ["category_id"])
    for name in INDEXES:
        op.drop_index(name, table_name="products")
    for column in ("in_stock", "max_price", "min_price"):
        op.drop_column("products", column)
