"""Reads and writes of customer self-service: profile, password, sessions (logins), e-mailed
tokens and the soft delete of an account. Every function takes an open connection.

A session is a refresh-token family: created with its first token, last used when its newest
token was issued, live while that newest token is neither retired, revoked nor expired.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models.account_repository import (
    UserRow,
    _family_revoked,
    _live_user,
    _user_columns,
    _user_row,
    email_key,
    refresh_tokens,
    users,
)
from models.accounts import AccountToken

account_tokens = AccountToken.__table__


@dataclass(slots=True, frozen=True)
class SessionRow:
    family_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    client_address: str | None
    user_agent: str | None


@dataclass(slots=True, frozen=True)
class TokenRow:
    id: int
    user_id: int
    email: str | None


async def password_hash_of(conn: AsyncConnection, user_id: int) -> str | None:
    statement = select(users.c.password_hash).where(users.c.id == user_id, _live_user)
    return (await conn.execute(statement)).scalar()


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> UserRow | None:
    if "email" in values:
        values["email_index"] = email_key(values["email"])
    statement = (
        update(users).where(users.c.id == user_id, _live_user).values(**values).returning(*_user_columns)
    )
    row = (await conn.execute(statement)).first()
    return _user_row(row) if row else None


async def email_taken(conn: AsyncConnection, email: str, other_than: int) -> bool:
    statement = select(users.c.id).where(
        users.c.email_index == email_key(email), _live_user, users.c.id != other_than
    )
    return (await conn.execute(statement)).first() is not None


# ---------------------------------------------------------------- sessions


def _newest_tokens(user_id: int) -> Any:
    first = func.min(refresh_tokens.c.created_at).over(partition_by=refresh_tokens.c.family_id)
    return (
        select(
            refresh_tokens.c.family_id,
            first.label("first_created_at"),
            refresh_tokens.c.created_at,
            refresh_tokens.c.retired_at,
            refresh_tokens.c.revoked_at,
            refresh_tokens.c.expires_at,
            refresh_tokens.c.client_address,
            refresh_tokens.c.user_agent,
        )
        .where(refresh_tokens.c.user_id == user_id)
        .ext(distinct_on(refresh_tokens.c.family_id))
        .order_by(refresh_tokens.c.family_id, refresh_tokens.c.created_at.desc(), refresh_tokens.c.id.desc())
        .subquery()
    )


async def live_sessions(conn: AsyncConnection, user_id: int, limit: int = 100) -> list[SessionRow]:
    newest = _newest_tokens(user_id)
    statement = (
        select(newest)
        .where(
            newest.c.retired_at.is_(None),
            newest.c.revoked_at.is_(None),
            newest.c.expires_at > func.now(),
            ~_family_revoked(newest.c.family_id),
        )
        .order_by(newest.c.created_at.desc())
        .limit(limit)
    )
    rows = (await conn.execute(statement)).all()
    return [
        SessionRow(
            family_id=row.family_id,
            created_at=row.first_created_at,
            last_used_at=row.created_at,
            client_address=row.client_address,
            user_agent=row.user_agent,
        )
        for row in rows
    ]


async def families_of_user(conn: AsyncConnection, user_id: int) -> list[uuid.UUID]:
    """Every login of the user not revoked yet."""
    statement = (
        select(refresh_tokens.c.family_id)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .distinct()
    )
    return list((await conn.execute(statement)).scalars())


async def family_belongs_to(conn: AsyncConnection, family_id: uuid.UUID, user_id: int) -> bool:
    statement = select(refresh_tokens.c.id).where(
        refresh_tokens.c.family_id == family_id, refresh_tokens.c.user_id == user_id
    )
    return (await conn.execute(statement.limit(1))).first() is not None


# ---------------------------------------------------------------- e-mailed tokens


async def insert_token(
    conn: AsyncConnection,
    user_id: int,
    purpose: str,
    token_hash: bytes,
    lifetime: timedelta,
    email: str | None,
) -> int:
    """A new token; earlier unused tokens of the same purpose stop counting (the newest link wins)."""
    await conn.execute(
        update(account_tokens)
        .where(
            account_tokens.c.user_id == user_id,
            account_tokens.c.purpose == purpose,
            account_tokens.c.used_at.is_(None),
        )
        .values(used_at=func.now())
    )
    statement = (
        insert(account_tokens)
        .values(
            user_id=user_id,
            purpose=purpose,
            token_hash=token_hash,
            email=email,
            expires_at=func.now() + lifetime,
        )
        .returning(account_tokens.c.id)
    )
    return int((await conn.execute(statement)).scalar_one())


async def use_token(conn: AsyncConnection, purpose: str, token_hash: bytes) -> TokenRow | None:
    """Spend a live token, at most once (of two concurrent calls one gets it)."""
    statement = (
        update(account_tokens)
        .where(
            account_tokens.c.token_hash == token_hash,
            account_tokens.c.purpose == purpose,
            account_tokens.c.used_at.is_(None),
            account_tokens.c.expires_at > func.now(),
            account_tokens.c.user_id.in_(select(users.c.id).where(_live_user)),
        )
        .values(used_at=func.now())
        .returning(account_tokens.c.id, account_tokens.c.user_id, account_tokens.c.email)
    )
    row = (await conn.execute(statement)).first()
    return TokenRow(id=row.id, user_id=row.user_id, email=row.email) if row else None


async def tokens_of_user(conn: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    statement = select(
        account_tokens.c.purpose,
        account_tokens.c.created_at,
        account_tokens.c.expires_at,
        account_tokens.c.used_at,
    ).where(account_tokens.c.user_id == user_id)
    return [dict(row._mapping) for row in await conn.execute(statement)]


# ---------------------------------------------------------------- deletion


async def soft_delete_user(conn: AsyncConnection, user_id: int, placeholder_email: str) -> bool:
    """Erase the user's personal data and mark them deleted; the row stays for their orders."""
    statement = (
        update(users)
        .where(users.c.id == user_id, _live_user)
        .values(
            email=placeholder_email,
            email_index=email_key(placeholder_email),
            name="",
            password_hash="!",  # noqa: S106 - matches no password
            deleted_at=func.now(),
        )
        .returning(users.c.id)
    )
    if (await conn.execute(statement)).first() is None:
        return False
    await conn.execute(
        update(account_tokens)
        .where(account_tokens.c.user_id == user_id, account_tokens.c.used_at.is_(None))
        .values(used_at=func.now(), email=None)
    )
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id)
        .values(client_address=None, user_agent=None)
    )
    return True
