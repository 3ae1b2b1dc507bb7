"""Reads and writes of users and refresh tokens. Every function takes an open connection.

Refresh tokens arrive here only as SHA-256 digests. A family is the chain of tokens issued from
one login; it is revoked as a whole, and a family with any revoked token is dead.

E-mail addresses are found by their blind index (core.pii), never by value; deleted users
(`deleted_at`) are never found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Exists, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from core.pii import blind_index
from models.accounts import RefreshToken, User

users = User.__table__
refresh_tokens = RefreshToken.__table__

# pg_notify channel of revoked logins; the payload is the family id.
LOGIN_REVOKED_CHANNEL = "login_revoked"


@dataclass(slots=True, frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    is_staff: bool
    email_verified_at: datetime | None = None


_user_columns = tuple(users.c[field] for field in UserRow.__dataclass_fields__)
_live_user = users.c.deleted_at.is_(None)


def email_key(email: str) -> bytes:
    """The blind index of a normalised e-mail address."""
    return blind_index(email.lower())


@dataclass(slots=True, frozen=True)
class UserCredentials:
    user: UserRow
    password_hash: str


@dataclass(slots=True, frozen=True)
class RotatedToken:
    user_id: int
    family_id: uuid.UUID
    client_address: str | None = None
    user_agent: str | None = None


@dataclass(slots=True, frozen=True)
class RefreshTokenState:
    user_id: int
    family_id: uuid.UUID
    retired: bool
    revoked: bool


def _user_row(row: Any) -> UserRow:
    return UserRow(
        id=row.id,
        email=row.email,
        name=row.name,
        is_staff=row.is_staff,
        email_verified_at=row.email_verified_at,
    )


def _family_revoked(family_id: uuid.UUID | ColumnElement[Any]) -> Exists:
    other = refresh_tokens.alias("family_member")
    return exists().where(other.c.family_id == family_id, other.c.revoked_at.is_not(None))


async def insert_user(conn: AsyncConnection, email: str, password_hash: str, name: str) -> UserRow | None:
    """The new user, or None when the e-mail address is taken."""
    statement = (
        insert(users)
        .values(email=email, email_index=email_key(email), password_hash=password_hash, name=name)
        .on_conflict_do_nothing()
        .returning(*_user_columns)
    )
    row = (await conn.execute(statement)).first()
    return _user_row(row) if row else None


async def credentials_by_email(conn: AsyncConnection, email: str) -> UserCredentials | None:
    statement = select(*_user_columns, users.c.password_hash).where(
        users.c.email_index == email_key(email), _live_user
    )
    row = (await conn.execute(statement)).first()
    return UserCredentials(user=_user_row(row), password_hash=row.password_hash) if row else None


async def user_by_id(conn: AsyncConnection, user_id: int) -> UserRow | None:
    row = (await conn.execute(select(*_user_columns).where(users.c.id == user_id, _live_user))).first()
    return _user_row(row) if row else None


async def user_of_live_session(conn: AsyncConnection, user_id: int, family_id: uuid.UUID) -> UserRow | None:
    """The user, when they still exist and the login (token family) was issued to them and has not
    been revoked."""
    issued = exists().where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.user_id == user_id)
    statement = select(*_user_columns).where(
        users.c.id == user_id, _live_user, issued, ~_family_revoked(family_id)
    )
    row = (await conn.execute(statement)).first()
    return _user_row(row) if row else None


async def insert_refresh_token(
    conn: AsyncConnection,
    user_id: int,
    family_id: uuid.UUID,
    token_hash: bytes,
    lifetime: timedelta,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> None:
    await conn.execute(
        insert(refresh_tokens).values(
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash,
            expires_at=func.now() + lifetime,
            client_address=client_address,
            user_agent=user_agent,
        )
    )


async def retire_refresh_token(conn: AsyncConnection, token_hash: bytes) -> RotatedToken | None:
    """Retire a live token, at most once: of two concurrent calls only one gets the row back."""
    statement = (
        update(refresh_tokens)
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.retired_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > func.now(),
            ~_family_revoked(refresh_tokens.c.family_id),
        )
        .values(retired_at=func.now())
        .returning(
            refresh_tokens.c.user_id,
            refresh_tokens.c.family_id,
            refresh_tokens.c.client_address,
            refresh_tokens.c.user_agent,
        )
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return RotatedToken(
        user_id=row.user_id,
        family_id=row.family_id,
        client_address=row.client_address,
        user_agent=row.user_agent,
    )


async def refresh_token_state(conn: AsyncConnection, token_hash: bytes) -> RefreshTokenState | None:
    statement = select(
        refresh_tokens.c.user_id,
        refresh_tokens.c.family_id,
        refresh_tokens.c.retired_at.is_not(None).label("retired"),
        refresh_tokens.c.revoked_at.is_not(None).label("revoked"),
    ).where(refresh_tokens.c.token_hash == token_hash)
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return RefreshTokenState(
        user_id=row.user_id, family_id=row.family_id, retired=row.retired, revoked=row.revoked
    )


async def revoke_token_family(conn: AsyncConnection, family_id: uuid.UUID) -> None:
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def notify_login_revoked(conn: AsyncConnection, family_id: uuid.UUID) -> None:
    """Publish inside the caller's transaction: listeners hear it only if the revocation commits."""
    await conn.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": LOGIN_REVOKED_CHANNEL, "payload": str(family_id)},
    )


async def promote_to_staff(conn: AsyncConnection, email: str, password_hash: str | None) -> UserRow | None:
    """Make the user with this e-mail staff (with a new password when given); None when there is none."""
    values: dict[str, Any] = {"is_staff": True}
    if password_hash is not None:
        values["password_hash"] = password_hash
    statement = (
        update(users)
        .where(users.c.email_index == email_key(email), _live_user)
        .values(**values)
        .returning(*_user_columns)
    )
    row = (await conn.execute(statement)).first()
    return _user_row(row) if row else None


async def insert_staff(conn: AsyncConnection, email: str, password_hash: str, name: str) -> UserRow | None:
    statement = (
        insert(users)
        .values(
            email=email, email_index=email_key(email), password_hash=password_hash, name=name, is_staff=True
        )
        .on_conflict_do_nothing()
        .returning(*_user_columns)
    )
    row = (await conn.execute(statement)).first()
    return _user_row(row) if row else None


async def user_exists(conn: AsyncConnection, email: str) -> bool:
    statement = select(exists().where(users.c.email_index == email_key(email), _live_user))
    return bool((await conn.execute(statement)).scalar())


async def users_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, UserRow]:
    """Users by id, read as every other user read is (reviews show their authors' names)."""
    result = await conn.execute(select(*_user_columns).where(users.c.id.in_(list(ids))))
    return {row.id: _user_row(row) for row in result}
