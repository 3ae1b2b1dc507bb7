"""What the staff dashboard (dashboard/) reads and how staff sign in to it.

Sign-in checks the same users table and password hashes as `login` (domain.auth) and is rate
limited by the same limits; only staff accounts get in. Each sign-in is a login of its own
(domain.auth.start_session), listed among the user's sessions; the dashboard keeps its id and the
user's in the signed session cookie and asks `staff_member` on every request, so a user who is no
longer staff, or whose session was revoked (signing out, `accountSessionRevoke`, a password
change, deleting the account), is out at their next click. The writes the dashboard makes are the
API's own functions (domain.order_actions, domain.catalog_admin), never these.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from domain import auth, rate_limits
from domain.access import Viewer, actor_name, actor_user_id, viewer_of
from domain.auth import InvalidEmail, LoginOrigin, check_password, normalize_email
from models import account_repository as accounts
from models import order_repository as orders
from models.order_repository import OrderLineRow, OrderRow, StatusChangeRow
from models.staff_order_list import OrderFilter, count_staff_orders, orders_by_numbers, staff_orders

__all__ = ["OrderDetail", "OrderFilter", "OrderRow", "StaffSignIn", "order_detail", "order_list"]

MAX_PAGE = 100


@dataclass(slots=True, frozen=True)
class StaffSignIn:
    staff: Viewer | None = None
    session_id: uuid.UUID | None = None  # the login this sign-in started
    refused: str | None = None  # why, in words the sign-in page shows
    retry_after: int | None = None


_REFUSED = "Wrong e-mail address or password, or not a staff account."


async def sign_in_staff(
    engine: AsyncEngine,
    settings: Settings,
    *,
    address: str | None,
    email: str,
    password: str,
    user_agent: str | None = None,
    lifetime: timedelta = timedelta(hours=8),
) -> StaffSignIn:
    """A staff member, or why not. Counted against the same limits as the API's `login`."""
    attempts = rate_limits.login_attempt(settings, address, email)
    refusal = await rate_limits.count(engine, attempts)
    if refusal is not None:
        return StaffSignIn(refused=refusal.problem.message, retry_after=refusal.retry_after)
    try:
        normalized: str | None = normalize_email(email)
    except InvalidEmail:
        normalized = None
    credentials = None
    if normalized is not None:
        async with engine.connect() as conn:
            credentials = await accounts.credentials_by_email(conn, normalized)
    # An unknown address costs a bcrypt check too (domain.auth.check_password), as `login` does.
    password_hash = credentials.password_hash if credentials else None
    if not await check_password(password, password_hash, settings.bcrypt_rounds) or credentials is None:
        return StaffSignIn(refused=_REFUSED)
    if not credentials.user.is_staff:
        return StaffSignIn(refused=_REFUSED)
    await rate_limits.forget(engine, rate_limits.login_succeeded(settings, address, email))
    agent = f"Staff dashboard · {user_agent or 'unknown'}"[:512]
    origin = LoginOrigin(client_address=address, user_agent=agent)
    async with engine.begin() as conn:
        session_id = await auth.start_session(conn, credentials.user.id, lifetime, origin)
    return StaffSignIn(staff=viewer_of(credentials.user), session_id=session_id)


async def staff_member(engine: AsyncEngine, user_id: int, session_id: uuid.UUID) -> Viewer | None:
    """The user, while they exist, are staff and their dashboard session is not revoked."""
    async with engine.connect() as conn:
        user = await accounts.user_of_live_session(conn, user_id, session_id)
    return viewer_of(user) if user is not None and user.is_staff else None


async def sign_out_staff(engine: AsyncEngine, session_id: uuid.UUID) -> None:
    async with engine.begin() as conn:
        await auth.revoke_login(conn, session_id)


# ---------------------------------------------------------------- orders


async def order_list(
    engine: AsyncEngine, where: OrderFilter, offset: int, limit: int
) -> tuple[list[OrderRow], int]:
    """A page of all orders (newest first) and how many match."""
    limit = max(1, min(limit, MAX_PAGE))
    async with engine.connect() as conn:
        rows = await staff_orders(conn, where, max(0, offset), limit)
        total = await count_staff_orders(conn, where)
    return rows, total


async def orders_numbered(engine: AsyncEngine, numbers: list[int]) -> list[OrderRow]:
    async with engine.connect() as conn:
        return await orders_by_numbers(conn, numbers[:MAX_PAGE])


@dataclass(slots=True, frozen=True)
class OrderDetail:
    order: OrderRow
    lines: list[OrderLineRow]
    history: list[StatusChangeRow]
    # Who made each change, as staff read it (domain.access.actor_name), by the recorded actor.
    actors: dict[str, str]


async def order_detail(engine: AsyncEngine, number: int) -> OrderDetail | None:
    async with engine.connect() as conn:
        found = await orders_by_numbers(conn, [number])
        if not found:
            return None
        order = found[0]
        lines = await orders.lines_of_orders(conn, [order.id])
        history = (await orders.history_of_orders(conn, [order.id])).get(order.id, [])
        user_ids = {user_id for change in history if (user_id := actor_user_id(change.actor)) is not None}
        users = await accounts.users_by_ids(conn, sorted(user_ids)) if user_ids else {}
    actors = {change.actor: actor_name(change.actor, users) for change in history}
    return OrderDetail(order=order, lines=lines.get(order.id, []), history=history, actors=actors)
