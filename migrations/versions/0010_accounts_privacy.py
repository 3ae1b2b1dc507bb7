"""Customer self-service and privacy: saved addresses, e-mailed tokens, sessions' client and
user agent, e-mail verification, soft deletes, and personal data encrypted at rest (core.pii).

Existing rows are encrypted here with the keys of the settings (PII_KEYS / PII_ACTIVE_KEY, or
the key generated into DATA_DIR), and e-mail addresses get their blind index.

Revision ID: 0010_accounts_privacy
Revises: 0006_jobs_mail
Create Date: 2026-12-04
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from core import pii

revision: str = "0010_accounts_privacy"
down_revision: str | None = "0009_catalog_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1_000


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())]


def _encrypt_existing(table: str, columns: dict[str, str], index: str | None = None) -> None:
    """Encrypt the plain values of `columns` (name -> "text" or "json") of every row, in batches;
    `index` names the column that gets the blind index of the (lower-cased) e-mail."""
    bind = op.get_bind()
    typed = sa.table(
        table,
        sa.column("id", sa.BigInteger),
        *(
            sa.column(
                name,
                pii.EncryptedJSON(f"{table}.{name}")
                if kind == "json"
                else pii.EncryptedText(f"{table}.{name}"),
            )
            for name, kind in columns.items()
        ),
        *([sa.column(index, sa.LargeBinary)] if index else []),
    )
    last = 0
    while True:
        names = ", ".join(columns)
        rows = bind.execute(
            sa.text(f"SELECT id, {names} FROM {table} WHERE id > :last ORDER BY id LIMIT {_BATCH}"),  # noqa: S608
            {"last": last},
        ).all()
        if not rows:
            return
        for row in rows:
            values = {}
            for name, kind in columns.items():
                value = getattr(row, name)
                if value is not None:
                    values[name] = json.loads(value) if kind == "json" else value
            if index and row.email is not None:
                values[index] = pii.blind_index(row.email.lower())
            if values:
                bind.execute(sa.update(typed).where(typed.c.id == row.id).values(**values))
        last = rows[-1].id


def upgrade() -> None:
    # users: e-mail verification, soft delete, encrypted e-mail and name with a blind index.
    op.add_column("users", sa.Column("email_index", sa.LargeBinary(), nullable=True))
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ux_users_email_lower", table_name="users")
    _encrypt_existing("users", {"email": "text", "name": "text"}, index="email_index")
    op.alter_column("users", "email_index", nullable=False)
    op.create_index(
        "ux_users_email_index",
        "users",
        ["email_index"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    # refresh_tokens: where a login came from, as recorded when it started.
    op.add_column("refresh_tokens", sa.Column("client_address", sa.Text(), nullable=True))
    op.add_column("refresh_tokens", sa.Column("user_agent", sa.Text(), nullable=True))

    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("is_default_shipping", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_default_billing", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_timestamps(),
    )
    op.create_index("ix_customer_addresses_user_id", "customer_addresses", ["user_id"])
    for kind in ("shipping", "billing"):
        op.create_index(
            f"ux_customer_addresses_default_{kind}",
            "customer_addresses",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text(f"is_default_{kind}"),
        )

    op.create_table(
        "account_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "purpose IN ('password_reset', 'email_verification', 'email_change')",
            name="ck_account_tokens_purpose",
        ),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])

    # orders: e-mail and shipping address encrypted; holding limits count by the blind index.
    op.drop_index("ix_orders_open_by_email", table_name="orders")
    op.alter_column("orders", "email", type_=sa.Text(), existing_nullable=False)
    op.alter_column(
        "orders",
        "shipping_address",
        type_=sa.Text(),
        existing_type=JSONB(),
        existing_nullable=False,
        postgresql_using="shipping_address::text",
    )
    op.alter_column(  # the billing address of migration 0007, like the shipping address
        "orders",
        "billing_address",
        type_=sa.Text(),
        existing_type=JSONB(),
        existing_nullable=True,
        postgresql_using="billing_address::text",
    )
    op.add_column("orders", sa.Column("email_index", sa.LargeBinary(), nullable=True))
    _encrypt_existing(
        "orders",
        {"email": "text", "shipping_address": "json", "billing_address": "json"},
        index="email_index",
    )
    op.create_index(
        "ix_orders_open_by_email",
        "orders",
        ["email_index"],
        postgresql_where=sa.text("status = 'AWAITING_PAYMENT'"),
    )

    # discount_code_uses (migration 0007): a customer's uses of a code are counted by the blind
    # index of the e-mail, not the e-mail itself.
    op.add_column("discount_code_uses", sa.Column("email_index", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(sa.text("SELECT id, email FROM discount_code_uses")).all():
        bind.execute(
            sa.text("UPDATE discount_code_uses SET email_index = :index WHERE id = :id"),
            {"index": pii.blind_index(row.email.strip().lower()), "id": row.id},
        )
    op.drop_index("ix_discount_code_uses_live_email", table_name="discount_code_uses")
    op.drop_column("discount_code_uses", "email")
    op.alter_column("discount_code_uses", "email_index", nullable=False)
    op.create_index(
        "ix_discount_code_uses_live_email",
        "discount_code_uses",
        ["code_id", "email_index"],
        postgresql_where=sa.text("released_at IS NULL"),
    )

    # carts: soft delete.
    op.add_column("carts", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))

    # Captured e-mail holds addresses and names.
    _encrypt_existing("mail_messages", {"recipient": "text", "text_body": "text", "html_body": "text"})


def downgrade() -> None:
    raise NotImplementedError("personal data stays encrypted: restore a backup to go back")
