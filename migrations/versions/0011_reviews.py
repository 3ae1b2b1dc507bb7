"""Product reviews and ratings: one review per customer and product, and the product's rating kept
beside it.

`products.rating_count` and `rating_sum` cover the shown (not hidden) reviews and `rating_key`
orders the catalog by rating (highest average first, then most reviews, products without reviews
last, at 0). A row trigger on `reviews` keeps them by adding what each change adds and
subtracting what it takes away, in the writing transaction: two reviews of one product written at
once both count (an increment re-reads the row it waits for; a recount from a snapshot would not).
Changes to reviews announce `catalog_changed` like every catalog write (0004).

Revision ID: 0011_reviews
Revises: 0006_jobs_mail
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_reviews"
down_revision: str | None = "0010_accounts_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The average to four decimals, then the count: one bigint, so the sort is one index column.
RATING_KEY = (
    "CASE WHEN {count} > 0 THEN round({sum} * 10000.0 / {count})::bigint * 10000000000 + {count} ELSE 0 END"
)


def upgrade() -> None:
    # Constant defaults: PostgreSQL adds these without rewriting the table, at any size.
    op.add_column("products", sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"))
    op.add_column("products", sa.Column("rating_sum", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("products", sa.Column("rating_key", sa.BigInteger, nullable=False, server_default="0"))
    op.create_index(
        "ix_products_rating",
        "products",
        [sa.text("rating_key DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("is_active"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "product_id", sa.BigInteger, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("is_hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_reviews_rating"),
        sa.UniqueConstraint("user_id", "product_id", name="ux_reviews_user_product"),
    )
    op.create_index(
        "ix_reviews_product_newest", "reviews", ["product_id", sa.text("created_at DESC"), sa.text("id DESC")]
    )
    op.create_index("ix_reviews_product_rating", "reviews", ["product_id", "rating", "id"])
    rating_key = RATING_KEY.format(count="(rating_count + d_count)", sum="(rating_sum + d_sum)")
    op.execute(
        f"""
        CREATE FUNCTION add_product_rating(product bigint, d_count integer, d_sum integer) RETURNS void
        LANGUAGE sql AS $$
            UPDATE products SET rating_count = rating_count + d_count,
                                rating_sum = rating_sum + d_sum,
                                rating_key = {rating_key}
            WHERE id = product AND (d_count <> 0 OR d_sum <> 0)
        $$
        """  # noqa: S608  (RATING_KEY is a constant expression)
    )
    op.execute(
        """
        CREATE FUNCTION reviews_keep_product_rating() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            old_count integer := 0;
            old_sum integer := 0;
            new_count integer := 0;
            new_sum integer := 0;
        BEGIN
            IF TG_OP <> 'INSERT' AND NOT OLD.is_hidden THEN
                old_count := 1;
                old_sum := OLD.rating;
            END IF;
            IF TG_OP <> 'DELETE' AND NOT NEW.is_hidden THEN
                new_count := 1;
                new_sum := NEW.rating;
            END IF;
            IF TG_OP = 'UPDATE' AND NEW.product_id = OLD.product_id THEN
                PERFORM add_product_rating(NEW.product_id, new_count - old_count, new_sum - old_sum);
            ELSE
                IF TG_OP <> 'INSERT' THEN
                    PERFORM add_product_rating(OLD.product_id, -old_count, -old_sum);
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    PERFORM add_product_rating(NEW.product_id, new_count, new_sum);
                END IF;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER reviews_keep_product_rating AFTER INSERT OR UPDATE OR DELETE ON reviews"
        " FOR EACH ROW EXECUTE FUNCTION reviews_keep_product_rating()"
    )
    op.execute(
        "CREATE TRIGGER reviews_notify_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
        " ON reviews FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"
    )


def downgrade() -> None:
    op.drop_table("reviews")  # its triggers go with it
    op.execute("DROP FUNCTION IF EXISTS reviews_keep_product_rating()")
    op.execute("DROP FUNCTION IF EXISTS add_product_rating(bigint, integer, integer)")
    op.drop_index("ix_products_rating", table_name="products")
    for column in ("rating_key", "rating_sum", "rating_count"):
        op.drop_column("products", column)
