"""Rate limits on signing in, registering, refreshing tokens, starting carts and checking out, kept
in PostgreSQL.

Limits hold across every server process and host because the counts live in the database. An
attempt is counted before the operation runs, in a short transaction of its own: a refused attempt
still counts, and an accepted one stays counted whatever the operation then does. Windows are
fixed, so around a window's end up to twice a limit can pass within one window's length.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from core.pii import keyed_digest
from core.settings import RateLimit, Settings
from domain.auth import InvalidEmail, normalize_email
from domain.errors import LimitCode, Problem
from models import rate_limit_repository as repo

logger = logging.getLogger(__name__)

UNKNOWN_ADDRESS = "unknown"


@dataclass(slots=True, frozen=True)
class Limited:
    """One thing to count: an attempt by `key` in `bucket`, against `limit` (None: not limited).

    A limit shared by every client (an account's ceiling) names in `waived_by` the bucket that
    counts this client alone: when that count shows no earlier attempt, the ceiling does not
    apply, so that strangers filling it cannot lock the owner out.
    """

    bucket: str
    key: str
    limit: RateLimit | None
    waived_by: str | None = None


@dataclass(slots=True, frozen=True)
class Refusal:
    retry_after: int

    @property
    def problem(self) -> Problem:
        return Problem(
            LimitCode.RATE_LIMITED, f"Too many attempts. Please retry after {self.retry_after} seconds.", None
        )


# ---------------------------------------------------------------- who is counted


def address_key(host: str | None) -> str:
    """The client address a limit counts: an IPv6 client by its /64, all of which one subscriber holds."""
    if not host:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def email_key(email: str) -> str:
    """The e-mail address as accounts store it, so that spellings of one address share a limit."""
    try:
        return normalize_email(email)
    except InvalidEmail:
        return email.strip().casefold()


def login_attempt(settings: Settings, address: str | None, email: str) -> list[Limited]:
    """Per client address; per account and client address; and a larger ceiling per account that
    a client with no attempts since its last successful sign-in is let past."""
    return [
        Limited("login:address", address_key(address), RateLimit.parse(settings.rate_limit_login)),
        _login_by_account_and_address(settings, address, email),
        Limited(
            "login:account",
            email_key(email),
            RateLimit.parse(settings.rate_limit_login_account),
            waived_by="login:account+address",
        ),
    ]


def login_succeeded(settings: Settings, address: str | None, email: str) -> list[Limited]:
    """What a successful sign-in clears: this client's count for this account."""
    return [_login_by_account_and_address(settings, address, email)]


def _login_by_account_and_address(settings: Settings, address: str | None, email: str) -> Limited:
    key = f"{email_key(email)}\n{address_key(address)}"
    return Limited("login:account+address", key, RateLimit.parse(settings.rate_limit_login_email))


def register_attempt(settings: Settings, address: str | None, email: str) -> list[Limited]:
    return [
        Limited("register:address", address_key(address), RateLimit.parse(settings.rate_limit_register)),
        Limited("register:email", email_key(email), RateLimit.parse(settings.rate_limit_register_email)),
    ]


def account_mail_attempt(settings: Settings, address: str | None, email: str) -> list[Limited]:
    """An e-mail of the account flows asked for (password reset, verification, e-mail change):
    per client address, and per e-mail address whether or not it has an account."""
    return [
        Limited(
            "account-mail:address", address_key(address), RateLimit.parse(settings.rate_limit_account_mail)
        ),
        Limited("account-mail:email", email_key(email), RateLimit.parse(settings.rate_limit_account_email)),
    ]


def refresh_attempt(settings: Settings, address: str | None) -> list[Limited]:
    return [Limited("refresh:address", address_key(address), RateLimit.parse(settings.rate_limit_refresh))]


def checkout_attempt(settings: Settings, address: str | None, user_id: int | None) -> list[Limited]:
    limit = RateLimit.parse(settings.rate_limit_checkout)
    if user_id is not None:
        return [Limited("checkout:user", str(user_id), limit)]
    return [Limited("checkout:address", address_key(address), limit)]


def cart_start_attempt(settings: Settings, address: str | None) -> list[Limited]:
    """A new anonymous cart (domain.carts.starts_cart): each is a row kept for
    ANONYMOUS_CART_RETENTION, so a client may not start them without end."""
    return [Limited("cart:address", address_key(address), RateLimit.parse(settings.rate_limit_cart))]


def review_attempt(settings: Settings, user_id: int) -> list[Limited]:
    return [Limited("review:user", str(user_id), RateLimit.parse(settings.rate_limit_review))]


# ---------------------------------------------------------------- counting


def _digest(key: str) -> bytes:
    # surrogatepass: a key is whatever the client sent, and it must never fail to count.
    # Keyed (the PII index key), not a plain SHA-256: e-mails are few enough to be guessed and hashed.
    return keyed_digest(key.encode("utf-8", "surrogatepass"))


def _counted(attempts: Sequence[Limited]) -> list[tuple[Limited, RateLimit]]:
    """The attempts to count, with their windows. A bucket that waives a ceiling is counted even
    when it has no limit of its own (in the ceiling's window, never refusing)."""
    counted = [(attempt, attempt.limit) for attempt in attempts if attempt.limit is not None]
    for attempt in attempts:
        if attempt.limit is None and any(ceiling.waived_by == attempt.bucket for ceiling, _ in counted):
            window = next(limit for ceiling, limit in counted if ceiling.waived_by == attempt.bucket)
            counted.append((attempt, RateLimit(attempts=2**31 - 1, seconds=window.seconds)))
    return counted


@dataclass(slots=True, frozen=True)
class Tally:
    """Attempts made ready for counting (`tally`) by a statement that may also read something
    else in the same round trip (domain.checkout_precheck.first_look); `refusal` decides."""

    limited: tuple[tuple[Limited, RateLimit], ...]

    @property
    def rows(self) -> list[repo.Attempt]:
        return [
            repo.Attempt(attempt.bucket, _digest(attempt.key), limit.seconds)
            for attempt, limit in self.limited
        ]

    def refusal(self, counts: Sequence[repo.Count]) -> Refusal | None:
        """A refusal when any limit is now exceeded, from the counts of `rows` (in their order)."""
        hits = {
            attempt.bucket: counted.hits for (attempt, _), counted in zip(self.limited, counts, strict=True)
        }
        exceeded = [
            counted.seconds_left
            for (attempt, limit), counted in zip(self.limited, counts, strict=True)
            if counted.hits > limit.attempts and not (attempt.waived_by and hits.get(attempt.waived_by) == 1)
        ]
        return Refusal(retry_after=max(exceeded)) if exceeded else None


def tally(attempts: Sequence[Limited]) -> Tally:
    return Tally(tuple(_counted(attempts)))


async def count(engine: AsyncEngine, attempts: Sequence[Limited]) -> Refusal | None:
    """Count one attempt against each limit; a refusal when any of them is now exceeded."""
    counting = tally(attempts)
    if not counting.limited:
        return None
    async with engine.connect() as conn:  # one statement, its own transaction, one round trip
        counts = await repo.count_attempts(conn, counting.rows)
    return counting.refusal(counts)


async def forget(engine: AsyncEngine, attempts: Sequence[Limited]) -> None:
    """Clear the counts of these keys (a successful sign-in clears its client's failures)."""
    async with engine.begin() as conn:
        for attempt in attempts:
            await repo.forget(conn, attempt.bucket, _digest(attempt.key))


async def delete_ended_windows(engine: AsyncEngine) -> int:
    """Delete the windows that have ended (a periodic task of the job worker, jobs.periodic)."""
    async with engine.begin() as conn:
        return await repo.delete_ended_windows(conn)
