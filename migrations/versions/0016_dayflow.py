"""Stock writes that change nothing a shopper sees send no `catalog_changed` notification.

A payment moves its units from reserved to sold: `stock` and `reserved` both go down by as many,
so `stock - reserved` (quantityAvailable, the only stock figure a catalog answer shows; inStock
flips are handled as before) is unchanged. Migration 0012's trigger still sent `stock:<product
ids>` for it, and the answer cache dropped every answer showing those products: twice per order
(reservation, payment) on the products shoppers look at most. Now only the products whose
variants' `stock - reserved` changed are named, and a write that changes none sends nothing.
Content changes and flips are handled exactly as in 0012.

Revision ID: 0016_dayflow
Revises: 0014_search1m
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_dayflow"
down_revision: str | None = "0014_search1m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION product_variants_updated() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            content_changed boolean;
            flipped boolean;
            touched bigint[];
            available_changed bigint[];
            payload text;
        BEGIN
            -- Content: any column but stock and reserved (columns added later count as content).
            SELECT coalesce(bool_or(
                       (to_jsonb(o) - ARRAY['stock', 'reserved']) IS DISTINCT FROM
                       (to_jsonb(n) - ARRAY['stock', 'reserved'])), false),
                   coalesce(bool_or((o.stock > o.reserved) IS DISTINCT FROM (n.stock > n.reserved)), false),
                   ARRAY(SELECT DISTINCT product_id FROM (
                       SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows
                   ) AS both_sides ORDER BY 1),
                   -- What a shopper sees of stock is stock less reservations: a payment moving
                   -- units from reserved to sold (both down by as many) changes nothing shown.
                   ARRAY(SELECT DISTINCT n2.product_id FROM old_rows AS o2 JOIN new_rows AS n2 ON n2.id = o2.id
                         WHERE (o2.stock - o2.reserved) IS DISTINCT FROM (n2.stock - n2.reserved) ORDER BY 1)
            INTO content_changed, flipped, touched, available_changed
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id;
            IF touched IS NULL OR cardinality(touched) = 0 THEN
                RETURN NULL;
            END IF;
            IF content_changed OR flipped THEN
                PERFORM refresh_product_summaries(touched, true);
            END IF;
            IF content_changed THEN
                PERFORM pg_notify('catalog_changed', '');
            ELSIF cardinality(available_changed) > 0 THEN
                payload := 'stock:' || array_to_string(available_changed, ',');
                -- NOTIFY payloads stop below 8000 bytes: a bulk stock change drops everything.
                PERFORM pg_notify('catalog_changed', CASE WHEN length(payload) < 7000 THEN payload ELSE '' END);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION product_variants_updated() RETURNS trigger
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
