"""E-mailed single-use tokens: password reset, e-mail verification, e-mail change.

One mechanism for the three: a random token (256 bits) goes out in a link, only its SHA-256
digest is stored, it expires (PASSWORD_RESET_TTL, EMAIL_VERIFICATION_TTL, EMAIL_CHANGE_TTL), a
newer token of the same purpose retires the older ones, and using it spends it (once, even when
two requests race). The e-mail is enqueued in the transaction that stores the token.

A password reset request answers the same whether or not the address has an account.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.settings import Settings
from domain import auth
from domain.auth import AuthConfig, AuthResult, LoginOrigin
from domain.errors import AccountCode, Problem
from domain.notifications import enqueue_account_email
from domain.self_service import UserResult, current_password_ok, revoke_sessions
from mail.render import MessageKind
from models import account_repository as accounts
from models import profile_repository as profiles
from models.account_repository import UserRow

_TOKEN_BYTES = 32


class Purpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    EMAIL_VERIFICATION = "email_verification"
    EMAIL_CHANGE = "email_change"


@dataclass(slots=True, frozen=True)
class _Flow:
    kind: MessageKind
    page: str  # the storefront page the link opens, with ?token=


_FLOWS = {
    Purpose.PASSWORD_RESET: _Flow(MessageKind.PASSWORD_RESET, "account/reset"),
    Purpose.EMAIL_VERIFICATION: _Flow(MessageKind.ACCOUNT_VERIFICATION, "account/verify"),
    Purpose.EMAIL_CHANGE: _Flow(MessageKind.EMAIL_CHANGE, "account/email-confirm"),
}
_INVALID = "This link is not valid: it was used, replaced by a newer one, or it expired."


def _ttl(settings: Settings, purpose: Purpose) -> int:
    return {
        Purpose.PASSWORD_RESET: settings.password_reset_ttl,
        Purpose.EMAIL_VERIFICATION: settings.email_verification_ttl,
        Purpose.EMAIL_CHANGE: settings.email_change_ttl,
    }[purpose]


def _in_words(seconds: int) -> str:
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3_600 == 0:
        hours = seconds // 3_600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _invalid(field: str = "token") -> tuple[Problem, ...]:
    return (Problem(AccountCode.INVALID_TOKEN, _INVALID, (field,)),)


async def _issue(
    conn: AsyncConnection,
    settings: Settings,
    user: UserRow,
    purpose: Purpose,
    *,
    recipient: str,
    email: str | None = None,
) -> None:
    """Store a new token of `purpose` for the user and enqueue the e-mail that carries it."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    ttl = _ttl(settings, purpose)
    token_id = await profiles.insert_token(
        conn, user.id, purpose.value, token_digest(token), timedelta(seconds=ttl), email
    )
    flow = _FLOWS[purpose]
    await enqueue_account_email(
        conn,
        flow.kind,
        key=f"token-{token_id}",
        recipient=recipient,
        name=user.name,
        link=f"{settings.storefront_base_url}/#/{flow.page}?token={token}",
        expires_in=_in_words(ttl),
    )


# ---------------------------------------------------------------- password reset


async def request_password_reset(engine: AsyncEngine, settings: Settings, email: str) -> None:
    """E-mail a reset link when the address has an account; nothing otherwise, and the same answer."""
    try:
        normalized = auth.normalize_email(email)
    except auth.InvalidEmail:
        return
    async with engine.begin() as conn:
        credentials = await accounts.credentials_by_email(conn, normalized)
        if credentials is not None:
            user = credentials.user
            await _issue(conn, settings, user, Purpose.PASSWORD_RESET, recipient=user.email)


async def reset_password(
    engine: AsyncEngine, config: AuthConfig, *, token: str, new_password: str, origin: LoginOrigin | None
) -> AuthResult:
    """Set the password from a reset token, revoke every session, and sign in anew."""
    if problem := auth.password_problem(new_password):
        return AuthResult(problems=(Problem(problem.code, problem.message, ("new_password",)),))
    password_hash = await auth.hash_password(new_password, config.bcrypt_rounds)
    async with engine.begin() as conn:
        used = await profiles.use_token(conn, Purpose.PASSWORD_RESET.value, token_digest(token))
        if used is None:
            return AuthResult(problems=_invalid())
        # The link reached the mailbox: that verifies the address too.
        user = await profiles.update_user(
            conn, used.user_id, password_hash=password_hash, email_verified_at=func.now()
        )
        assert user is not None  # use_token finds live users only
        await revoke_sessions(conn, user.id, keep=None)
        return await auth.signed_in(conn, user, config, origin=origin)


# ---------------------------------------------------------------- e-mail verification


async def request_verification(engine: AsyncEngine, settings: Settings, user: UserRow) -> tuple[Problem, ...]:
    if user.email_verified_at is not None:
        return (Problem(AccountCode.ALREADY_VERIFIED, "Your e-mail address is verified already.", None),)
    async with engine.begin() as conn:
        await _issue(conn, settings, user, Purpose.EMAIL_VERIFICATION, recipient=user.email, email=user.email)
    return ()


async def send_verification(engine: AsyncEngine, settings: Settings, user: UserRow) -> None:
    """The verification e-mail of a new account."""
    async with engine.begin() as conn:
        await _issue(conn, settings, user, Purpose.EMAIL_VERIFICATION, recipient=user.email, email=user.email)


async def verify_email(engine: AsyncEngine, token: str) -> UserResult:
    async with engine.begin() as conn:
        used = await profiles.use_token(conn, Purpose.EMAIL_VERIFICATION.value, token_digest(token))
        if used is None:
            return UserResult(problems=_invalid())
        current = await accounts.user_by_id(conn, used.user_id)
        if current is None or current.email != used.email:  # the address changed since
            return UserResult(problems=_invalid())
        user = await profiles.update_user(conn, used.user_id, email_verified_at=func.now())
    return UserResult(user=user)


# ---------------------------------------------------------------- e-mail change


async def request_email_change(
    engine: AsyncEngine, settings: Settings, user: UserRow, *, new_email: str, password: str
) -> tuple[Problem, ...]:
    """A confirmation link to the new address, a notice to the old one; nothing changes yet.

    An address that belongs to another account gets no link, and the answer is the same.
    """
    if not await current_password_ok(engine, user, password, settings.bcrypt_rounds):
        return (Problem(AccountCode.WRONG_PASSWORD, "The password is wrong.", ("password",)),)
    try:
        normalized = auth.normalize_email(new_email)
    except auth.InvalidEmail:
        return (Problem(AccountCode.INVALID_EMAIL, "This is not a valid e-mail address.", ("new_email",)),)
    if normalized == user.email:
        return (Problem(AccountCode.SAME_EMAIL, "This is your e-mail address already.", ("new_email",)),)
    async with engine.begin() as conn:
        if not await profiles.email_taken(conn, normalized, other_than=user.id):
            await _issue(conn, settings, user, Purpose.EMAIL_CHANGE, recipient=normalized, email=normalized)
        await enqueue_account_email(
            conn,
            MessageKind.EMAIL_CHANGE_NOTICE,
            key=f"{user.id}.{uuid.uuid4().hex}",
            recipient=user.email,
            name=user.name,
            link=f"{settings.storefront_base_url}/#/account",
        )
    return ()


async def confirm_email_change(engine: AsyncEngine, token: str) -> UserResult:
    async with engine.begin() as conn:
        used = await profiles.use_token(conn, Purpose.EMAIL_CHANGE.value, token_digest(token))
        if used is None or used.email is None:
            return UserResult(problems=_invalid())
        if await profiles.email_taken(conn, used.email, other_than=used.user_id):
            message = "An account with this e-mail address exists."
            return UserResult(problems=(Problem(AccountCode.EMAIL_TAKEN, message, ("token",)),))
        user = await profiles.update_user(conn, used.user_id, email=used.email, email_verified_at=func.now())
    return UserResult(user=user)
