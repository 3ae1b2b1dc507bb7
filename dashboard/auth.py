"""Staff sign-in to the dashboard: the users table and password check of `login`, rate limited alike.

The session is Starlette's signed cookie (path /admin, HttpOnly, SameSite=Lax, Secure over HTTPS,
8 hours) holding only the user's id and the id of the login the sign-in started; every request asks
domain.staff_console whether that user is still staff and the login not revoked (signing out
revokes it; so do the account's own session revocation, a password change and account deletion).
starlette-admin's CSRF middleware guards every form and action (double-submit token).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette_admin.auth import AdminUser, AuthProvider
from starlette_admin.exceptions import LoginFailed

from dashboard.console import Console
from domain import staff_console

SESSION_KEY = "staff_id"
LOGIN_KEY = "login"
SESSION_MAX_AGE = 8 * 3600


class StaffAuth(AuthProvider):
    def __init__(self, console: Console) -> None:
        super().__init__(login_path="/login", logout_path="/logout")
        self.console = console

    async def login(
        self, username: str, password: str, remember_me: bool, request: Request
    ) -> Response | None:
        client = request.client
        result = await staff_console.sign_in_staff(
            self.console.engine,
            self.console.settings,
            address=client.host if client else None,
            email=username[:320],
            password=password[:1024],
            user_agent=request.headers.get("user-agent"),
            lifetime=timedelta(seconds=SESSION_MAX_AGE),
        )
        if result.staff is None or result.session_id is None:
            raise LoginFailed(result.refused or "Not signed in.")
        request.session.clear()
        request.session[SESSION_KEY] = result.staff.id
        request.session[LOGIN_KEY] = result.session_id.hex
        request.state.staff = result.staff
        return None

    async def logout(self, request: Request) -> Response | None:
        login = _login_of(request)
        request.session.clear()
        if login is not None:
            await staff_console.sign_out_staff(self.console.engine, login)
        return None

    async def authenticate(self, request: Request) -> AdminUser | None:
        staff = getattr(request.state, "staff", None)
        if staff is None:
            user_id = request.session.get(SESSION_KEY)
            login = _login_of(request)
            if not isinstance(user_id, int) or login is None:
                return None
            staff = await staff_console.staff_member(self.console.engine, user_id, login)
            if staff is None:
                request.session.clear()
                return None
            request.state.staff = staff
        return AdminUser(username=staff.email)


def _login_of(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=request.session.get(LOGIN_KEY) or "")
    except (TypeError, ValueError):
        return None
