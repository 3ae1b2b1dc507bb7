"""Account tables: users, their refresh tokens (logins), saved addresses and e-mailed tokens.

E-mail addresses are stored normalised (trimmed, lower-case), encrypted (core.pii), and unique
on their blind index (`email_index`, HMAC of the normalised address). Names, saved addresses, the
client address and user agent of a login and a pending new e-mail address are encrypted too.
A deleted user is kept (soft delete, `deleted_at`) without personal data, for their orders.
Refresh tokens are stored only as SHA-256 digests; the tokens of one login share a family,
so that a stolen, already-rotated token can revoke every token descended from that login.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from core.pii import EncryptedJSON, EncryptedText


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    email: str = Field(sa_column=Column(EncryptedText("users.email"), nullable=False))
    email_index: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(EncryptedText("users.name"), nullable=False))
    is_staff: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    email_verified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    family_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False, index=True))
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # As recorded when the login started, copied along each rotation (User.sessions).
    client_address: str | None = Field(
        default=None, sa_column=Column(EncryptedText("refresh_tokens.client_address"))
    )
    user_agent: str | None = Field(default=None, sa_column=Column(EncryptedText("refresh_tokens.user_agent")))


class CustomerAddress(SQLModel, table=True):
    """A saved address of a customer's address book; at most one default of each kind."""

    __tablename__ = "customer_addresses"
    __table_args__ = (
        Index(
            "ux_customer_addresses_default_shipping",
            "user_id",
            unique=True,
            postgresql_where=text("is_default_shipping"),
        ),
        Index(
            "ux_customer_addresses_default_billing",
            "user_id",
            unique=True,
            postgresql_where=text("is_default_billing"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    address: dict[str, Any] = Field(
        sa_column=Column(EncryptedJSON("customer_addresses.address"), nullable=False)
    )
    is_default_shipping: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    is_default_billing: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class AccountToken(SQLModel, table=True):
    """A single-use token e-mailed to a customer (password reset, e-mail verification, e-mail
    change), stored only as its SHA-256 digest."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('password_reset', 'email_verification', 'email_change')",
            name="ck_account_tokens_purpose",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    # The address an e-mail change confirms (encrypted); the verification's address otherwise.
    email: str | None = Field(default=None, sa_column=Column(EncryptedText("account_tokens.email")))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


Index(
    "ux_users_email_index",
    User.__table__.c.email_index,
    unique=True,
    postgresql_where=User.__table__.c.deleted_at.is_(None),
)
