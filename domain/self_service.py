"""Customer self-service: profile, password change, sessions and the address book.

Every operation acts for the signed-in user it is given (the GraphQL layer finds them); a saved
address, a session or a token of another user is NOT_FOUND, exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.settings import Settings
from domain import auth
from domain.addresses import normalise_address
from domain.errors import AccountCode, CheckoutCode, Problem
from domain.notifications import enqueue_account_email
from mail.render import MessageKind
from models import address_repository as addresses
from models import profile_repository as profiles
from models import review_repository as reviews
from models.account_repository import UserRow
from models.address_repository import AddressRow
from models.profile_repository import SessionRow

MAX_ADDRESSES = 50

__all__ = ["AddressRow", "SessionRow"]


@dataclass(slots=True, frozen=True)
class UserResult:
    user: UserRow | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(slots=True, frozen=True)
class AddressResult:
    address: AddressRow | None = None
    user: UserRow | None = None
    problems: tuple[Problem, ...] = ()


def _problem(field: str | None, message: str, code: AccountCode) -> tuple[Problem, ...]:
    return (Problem(code=code, message=message, field=(field,) if field else None),)


def name_problem(name: str) -> tuple[Problem, ...]:
    if not 1 <= len(name) <= auth.MAX_NAME_LENGTH or not name.isprintable():
        message = f"Give a name of 1 to {auth.MAX_NAME_LENGTH} printable characters."
        return _problem("name", message, AccountCode.INVALID_NAME)
    return ()


async def update_profile(engine: AsyncEngine, user: UserRow, *, name: str | None) -> UserResult:
    if name is None:
        return UserResult(user=user)
    name = name.strip()
    if problems := name_problem(name):
        return UserResult(problems=problems)
    async with engine.begin() as conn:
        updated = await profiles.update_user(conn, user.id, name=name)
        if name != user.name:  # cached product answers show a reviewer's name
            await reviews.notify_if_author(conn, user.id)
    return UserResult(user=updated)


async def current_password_ok(engine: AsyncEngine, user: UserRow, password: str, rounds: int) -> bool:
    async with engine.connect() as conn:
        stored = await profiles.password_hash_of(conn, user.id)
    return await auth.check_password(password, stored, rounds)


async def change_password(
    engine: AsyncEngine,
    settings: Settings,
    user: UserRow,
    *,
    current_password: str,
    new_password: str,
    current_session: uuid.UUID | None,
) -> UserResult:
    """Needs the current password; every other session is revoked (their subscriptions end)."""
    if not await current_password_ok(engine, user, current_password, settings.bcrypt_rounds):
        return UserResult(
            problems=_problem(
                "current_password", "The current password is wrong.", AccountCode.WRONG_PASSWORD
            )
        )
    if problem := auth.password_problem(new_password):
        return UserResult(problems=(Problem(problem.code, problem.message, ("new_password",)),))
    password_hash = await auth.hash_password(new_password, settings.bcrypt_rounds)
    async with engine.begin() as conn:
        updated = await profiles.update_user(conn, user.id, password_hash=password_hash)
        await revoke_sessions(conn, user.id, keep=current_session)
        await enqueue_account_email(
            conn,
            MessageKind.PASSWORD_CHANGED,
            key=f"{user.id}.{uuid.uuid4().hex}",
            recipient=user.email,
            name=user.name,
            link=f"{settings.storefront_base_url}/#/account/forgot",
        )
    return UserResult(user=updated)


def unverified_checkout(settings: Settings, user: UserRow | None) -> tuple[Problem, ...]:
    """A signed-in customer whose e-mail is not verified may check out unless CHECKOUT_UNVERIFIED is off."""
    if user is None or settings.checkout_unverified or user.email_verified_at is not None or user.is_staff:
        return ()
    message = "Confirm your e-mail address first: follow the link we sent you."
    return (Problem(CheckoutCode.EMAIL_NOT_VERIFIED, message, None),)


# ---------------------------------------------------------------- sessions


async def sessions(engine: AsyncEngine, user_id: int) -> list[SessionRow]:
    async with engine.connect() as conn:
        return await profiles.live_sessions(conn, user_id)


async def revoke_sessions(conn: AsyncConnection, user_id: int, *, keep: uuid.UUID | None) -> int:
    """Revoke every login of the user but `keep`; returns how many."""
    revoked = 0
    for family_id in await profiles.families_of_user(conn, user_id):
        if family_id != keep:
            await auth.revoke_login(conn, family_id)
            revoked += 1
    return revoked


async def revoke_session(engine: AsyncEngine, user_id: int, family_id: uuid.UUID) -> tuple[Problem, ...]:
    async with engine.begin() as conn:
        if not await profiles.family_belongs_to(conn, family_id, user_id):
            return _problem("id", "No such session.", AccountCode.NOT_FOUND)
        await auth.revoke_login(conn, family_id)
    return ()


async def revoke_all_sessions(engine: AsyncEngine, user_id: int, keep: uuid.UUID | None) -> int:
    async with engine.begin() as conn:
        return await revoke_sessions(conn, user_id, keep=keep)


# ---------------------------------------------------------------- address book


def _address_problems(raw: dict[str, Any]) -> tuple[dict[str, Any], tuple[Problem, ...]]:
    address, problems = normalise_address(raw)
    return address, tuple(
        Problem(AccountCode.INVALID_ADDRESS, f"{problem.field} {problem.message}", ("input", problem.field))
        for problem in problems
    )


def _not_found() -> AddressResult:
    return AddressResult(problems=_problem("id", "No such address.", AccountCode.NOT_FOUND))


async def address_book(engine: AsyncEngine, user_id: int) -> list[AddressRow]:
    async with engine.connect() as conn:
        return await addresses.addresses_of(conn, user_id)


async def saved_address(conn: AsyncConnection, user_id: int, address_id: int) -> dict[str, Any] | None:
    """A saved address of the user, as checkout takes it; None when they have no such address."""
    row = await addresses.address_of(conn, user_id, address_id)
    return dict(row.address) if row else None


async def saved_address_of(engine: AsyncEngine, user_id: int, address_id: int) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await saved_address(conn, user_id, address_id)


async def create_address(
    engine: AsyncEngine, user: UserRow, raw: dict[str, Any], *, default_shipping: bool, default_billing: bool
) -> AddressResult:
    address, problems = _address_problems(raw)
    if problems:
        return AddressResult(problems=problems)
    async with engine.begin() as conn:
        if await addresses.count_of(conn, user.id) >= MAX_ADDRESSES:
            message = f"An address book holds at most {MAX_ADDRESSES} addresses."
            return AddressResult(problems=_problem(None, message, AccountCode.TOO_MANY_ADDRESSES))
        row = await addresses.insert_address(conn, user.id, address)
        existing = await addresses.addresses_of(conn, user.id)
        first = len(existing) == 1  # the first address is the default of both kinds
        if default_shipping or first:
            row = await addresses.set_default(conn, user.id, row.id, "shipping") or row
        if default_billing or first:
            row = await addresses.set_default(conn, user.id, row.id, "billing") or row
    return AddressResult(address=row, user=user)


async def update_address(
    engine: AsyncEngine, user: UserRow, address_id: int, raw: dict[str, Any]
) -> AddressResult:
    address, problems = _address_problems(raw)
    if problems:
        return AddressResult(problems=problems)
    async with engine.begin() as conn:
        row = await addresses.update_address(conn, user.id, address_id, address)
    return AddressResult(address=row, user=user) if row else _not_found()


async def delete_address(engine: AsyncEngine, user: UserRow, address_id: int) -> AddressResult:
    async with engine.begin() as conn:
        row = await addresses.delete_address(conn, user.id, address_id)
    return AddressResult(address=row, user=user) if row else _not_found()


async def set_default_address(
    engine: AsyncEngine, user: UserRow, address_id: int, kind: str
) -> AddressResult:
    async with engine.begin() as conn:
        if await addresses.address_of(conn, user.id, address_id, lock=True) is None:
            return _not_found()
        row = await addresses.set_default(conn, user.id, address_id, kind)
    return AddressResult(address=row, user=user)
