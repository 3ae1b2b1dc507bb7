"""Accounts and tokens: registration, sign-in, refresh-token rotation, sign-out.

Passwords are hashed with bcrypt in a worker thread so hashing never blocks the event loop.
They are first reduced to a base64 SHA-256 digest, which lets passwords of any length count in
full (bcrypt reads only 72 bytes, and bcrypt 5 refuses longer input).

Access tokens are HS256 JWTs carrying the user (`sub`) and the login (`sid`, its refresh-token
family), so signing out or a detected token theft also ends the access tokens of that login,
and its live subscriptions (announced with pg_notify when the revocation commits).
Refresh tokens are opaque random values stored as SHA-256 digests and used once: each refresh
retires the token and issues the next of its family; a retired token shown again revokes the
whole family.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import bcrypt
from email_validator import EmailNotValidError, validate_email
from jose import JWTError, jwk, jwt
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.settings import Settings
from domain import cart_merge
from domain import carts as cart_rules
from domain.cart_prices import CartView
from domain.errors import AccountCode, Problem
from models import account_repository as repo
from models.account_repository import UserRow

JWT_ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 200
_REFRESH_TOKEN_BYTES = 32  # 256 random bits


@dataclass(slots=True, frozen=True)
class AuthConfig:
    jwt_secret: str
    access_token_ttl: int
    refresh_token_ttl: int
    bcrypt_rounds: int
    cart_price_lock_ttl: timedelta

    @classmethod
    def from_settings(cls, settings: Settings, jwt_secret: str) -> AuthConfig:
        return cls(
            jwt_secret=jwt_secret,
            access_token_ttl=settings.access_token_ttl,
            refresh_token_ttl=settings.refresh_token_ttl,
            bcrypt_rounds=settings.bcrypt_rounds,
            cart_price_lock_ttl=timedelta(seconds=settings.cart_price_lock_ttl),
        )


@dataclass(slots=True, frozen=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID


@dataclass(slots=True, frozen=True)
class LoginOrigin:
    """Where a login comes from, recorded with it (User.sessions)."""

    client_address: str | None = None
    user_agent: str | None = None


@dataclass(slots=True, frozen=True)
class AuthResult:
    """A signed-in user with a fresh token pair and their cart, or the problems."""

    user: UserRow | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    cart: CartView | None = None
    problems: tuple[Problem, ...] = ()


def _problem(field: tuple[str, ...] | None, message: str, code: AccountCode) -> Problem:
    return Problem(code=code, message=message, field=field)


def _failure(field: str | None, message: str, code: AccountCode) -> AuthResult:
    return AuthResult(problems=(_problem((field,) if field else None, message, code),))


_CREDENTIALS_REFUSED = "Wrong e-mail address or password."
_REFRESH_REFUSED = "This refresh token is not valid; sign in again."


# ---------------------------------------------------------------- e-mail and passwords


class InvalidEmail(ValueError):
    pass


def normalize_email(email: str) -> str:
    """The address as stored: trimmed, syntax-checked (no network look-up) and lower-cased."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from error
    return checked.normalized.lower()


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def _hash(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def _check(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode())
    except ValueError:  # not a bcrypt hash
        return False


@lru_cache
def _dummy_hash(rounds: int) -> str:
    return _hash(secrets.token_urlsafe(16), rounds)


async def hash_password(password: str, rounds: int) -> str:
    return await asyncio.to_thread(_hash, password, rounds)


async def check_password(password: str, password_hash: str | None, rounds: int) -> bool:
    """Whether the password matches; without a hash, spends the same time on a dummy one."""
    if password_hash is None:
        await asyncio.to_thread(lambda: _check(password, _dummy_hash(rounds)))
        return False
    return await asyncio.to_thread(_check, password, password_hash)


def password_problem(password: str) -> Problem | None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return _problem(
            ("password",),
            f"Use a password of {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
            AccountCode.WEAK_PASSWORD,
        )
    return None


# ---------------------------------------------------------------- tokens


def _signing_key(secret: str) -> Any:
    # A key object, so that the secret is never read as a JSON key set, whatever it looks like.
    return jwk.construct(secret, JWT_ALGORITHM)


def issue_access_token(user_id: int, session_id: uuid.UUID, secret: str, ttl: int) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(secret), algorithm=JWT_ALGORITHM)


def verify_access_token(token: str, secret: str) -> AccessClaims | None:
    """The claims of a token we signed with HS256 and this key that has not expired, else None."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(secret),
            algorithms=[JWT_ALGORITHM],
            options={"require_exp": True, "require_iat": True, "require_sub": True, "require_jti": True},
        )
        return AccessClaims(user_id=int(claims["sub"]), session_id=uuid.UUID(str(claims["sid"])))
    except (JWTError, KeyError, ValueError, TypeError, AttributeError):
        return None


def _refresh_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _start_refresh_token(
    conn: AsyncConnection, user_id: int, family_id: uuid.UUID, config: AuthConfig, origin: LoginOrigin
) -> str:
    token = secrets.token_urlsafe(_REFRESH_TOKEN_BYTES)
    lifetime = timedelta(seconds=config.refresh_token_ttl)
    await repo.insert_refresh_token(
        conn,
        user_id,
        family_id,
        _refresh_token_hash(token),
        lifetime,
        client_address=origin.client_address,
        user_agent=origin.user_agent,
    )
    return token


async def start_session(
    conn: AsyncConnection, user_id: int, lifetime: timedelta, origin: LoginOrigin
) -> uuid.UUID:
    """A login whose client holds no token of ours (the staff dashboard's signed cookie holds its
    id): listed in the user's sessions, and ended like any other login, by revoking it, changing
    the password or deleting the account."""
    family_id = uuid.uuid4()
    unused = _refresh_token_hash(secrets.token_urlsafe(_REFRESH_TOKEN_BYTES))  # nobody holds it
    await repo.insert_refresh_token(
        conn,
        user_id,
        family_id,
        unused,
        lifetime,
        client_address=origin.client_address,
        user_agent=origin.user_agent,
    )
    return family_id


async def _signed_in(
    conn: AsyncConnection,
    user: UserRow,
    config: AuthConfig,
    *,
    family_id: uuid.UUID | None = None,
    cart_token: str | None = None,
    origin: LoginOrigin | None = None,
) -> AuthResult:
    """Issue the next token pair of a login (a new one without `family_id`) and find the cart."""
    family_id = family_id or uuid.uuid4()
    refresh_token = await _start_refresh_token(conn, user.id, family_id, config, origin or LoginOrigin())
    if cart_token:
        await cart_merge.merge_anonymous_cart(
            conn, user_id=user.id, cart_token=cart_token, lock_ttl=config.cart_price_lock_ttl
        )
    return AuthResult(
        user=user,
        access_token=issue_access_token(user.id, family_id, config.jwt_secret, config.access_token_ttl),
        refresh_token=refresh_token,
        cart=await cart_rules.cart_of_user(conn, user.id, config.cart_price_lock_ttl),
    )


signed_in = _signed_in  # for the account flows that end signed in (domain.account_tokens)


# ---------------------------------------------------------------- operations


async def register(
    engine: AsyncEngine,
    config: AuthConfig,
    *,
    email: str,
    password: str,
    name: str,
    cart_token: str | None = None,
    origin: LoginOrigin | None = None,
) -> AuthResult:
    problems: list[Problem] = []
    try:
        email = normalize_email(email)
    except InvalidEmail:
        problems.append(
            _problem(("email",), "This is not a valid e-mail address.", AccountCode.INVALID_EMAIL)
        )
    if problem := password_problem(password):
        problems.append(problem)
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not name.isprintable():
        message = f"Give a name of 1 to {MAX_NAME_LENGTH} printable characters."
        problems.append(_problem(("name",), message, AccountCode.INVALID_NAME))
    if problems:
        return AuthResult(problems=tuple(problems))

    # Hash before the transaction: no connection is held while bcrypt works.
    password_hash = await hash_password(password, config.bcrypt_rounds)
    async with engine.begin() as conn:
        user = await repo.insert_user(conn, email, password_hash, name)
        if user is None:
            return _failure("email", "An account with this e-mail address exists.", AccountCode.EMAIL_TAKEN)
        return await _signed_in(conn, user, config, cart_token=cart_token, origin=origin)


async def login(
    engine: AsyncEngine,
    config: AuthConfig,
    *,
    email: str,
    password: str,
    cart_token: str | None = None,
    origin: LoginOrigin | None = None,
) -> AuthResult:
    try:
        normalized: str | None = normalize_email(email)
    except InvalidEmail:
        normalized = None
    credentials = None
    if normalized is not None:
        async with engine.connect() as conn:
            credentials = await repo.credentials_by_email(conn, normalized)
    # An unknown address costs a bcrypt check too, so that timing does not tell which accounts exist.
    password_hash = credentials.password_hash if credentials else None
    if not await check_password(password, password_hash, config.bcrypt_rounds) or credentials is None:
        return _failure(None, _CREDENTIALS_REFUSED, AccountCode.INVALID_CREDENTIALS)
    async with engine.begin() as conn:
        return await _signed_in(conn, credentials.user, config, cart_token=cart_token, origin=origin)


async def refresh(engine: AsyncEngine, config: AuthConfig, *, refresh_token: str) -> AuthResult:
    token_hash = _refresh_token_hash(refresh_token)
    async with engine.begin() as conn:
        rotated = await repo.retire_refresh_token(conn, token_hash)
        if rotated is None:
            state = await repo.refresh_token_state(conn, token_hash)
            if state is not None and state.retired:
                # A used token shown again: someone holds a copy. End the whole login.
                await _revoke_login(conn, state.family_id)
            return _failure("refresh_token", _REFRESH_REFUSED, AccountCode.INVALID_TOKEN)
        user = await repo.user_by_id(conn, rotated.user_id)
        assert user is not None  # tokens go with their user (ON DELETE CASCADE)
        origin = LoginOrigin(client_address=rotated.client_address, user_agent=rotated.user_agent)
        return await _signed_in(conn, user, config, family_id=rotated.family_id, origin=origin)


async def logout(engine: AsyncEngine, *, refresh_token: str) -> tuple[Problem, ...]:
    """Revoke the login the refresh token belongs to (every token of its family)."""
    async with engine.begin() as conn:
        state = await repo.refresh_token_state(conn, _refresh_token_hash(refresh_token))
        if state is None:
            return (_problem(("refresh_token",), "Unknown refresh token.", AccountCode.INVALID_TOKEN),)
        await _revoke_login(conn, state.family_id)
    return ()


async def revoke_login(conn: AsyncConnection, family_id: uuid.UUID) -> None:
    """End a login (for self-service: one session, or every session but one)."""
    await _revoke_login(conn, family_id)


async def _revoke_login(conn: AsyncConnection, family_id: uuid.UUID) -> None:
    """End a login: its tokens stop counting, and its live subscriptions end (told on commit)."""
    await repo.revoke_token_family(conn, family_id)
    await repo.notify_login_revoked(conn, family_id)


async def login_is_live(conn: AsyncConnection, user_id: int, session_id: uuid.UUID) -> bool:
    """Whether the user still exists and this login of theirs has not been revoked."""
    return await repo.user_of_live_session(conn, user_id, session_id) is not None


def session_of_access_token(token: str, secret: str) -> uuid.UUID | None:
    """The login a token we signed belongs to (not asking whether it is still live)."""
    claims = verify_access_token(token, secret)
    return claims.session_id if claims else None


async def user_of_access_token(conn: AsyncConnection, token: str, secret: str) -> UserRow | None:
    """The user a valid access token speaks for, while they exist and their login is not revoked."""
    claims = verify_access_token(token, secret)
    if claims is None:
        return None
    return await repo.user_of_live_session(conn, claims.user_id, claims.session_id)


# ---------------------------------------------------------------- staff


class StaffSetupError(ValueError):
    """The e-mail address or password given for a staff user cannot be used."""


async def staff_exists(engine: AsyncEngine, email: str) -> bool:
    async with engine.connect() as conn:
        return await repo.user_exists(conn, email)


async def create_or_promote_staff(
    engine: AsyncEngine, email: str, password: str | None, rounds: int
) -> tuple[UserRow, bool]:
    """Promote the user with this e-mail to staff, or create a staff user; True when created."""
    if password is not None and (problem := password_problem(password)):
        raise StaffSetupError(problem.message)
    password_hash = await hash_password(password, rounds) if password is not None else None
    async with engine.begin() as conn:
        promoted = await repo.promote_to_staff(conn, email, password_hash)
        if promoted is not None:
            return promoted, False
        if password_hash is None:
            raise StaffSetupError("A new staff user needs a password.")
        created = await repo.insert_staff(conn, email, password_hash, email.split("@")[0])
        if created is None:  # registered meanwhile
            promoted = await repo.promote_to_staff(conn, email, password_hash)
            assert promoted is not None
            return promoted, False
        return created, True
