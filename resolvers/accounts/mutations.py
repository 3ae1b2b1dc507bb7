"""Account mutations: register, login, refreshToken, logout."""

from __future__ import annotations

import strawberry

from domain import account_tokens, auth, rate_limits
from domain.auth import AuthConfig, AuthResult, LoginOrigin
from graph.accounts.types import AuthPayload, LogoutPayload, User
from graph.carts.types import Cart
from graph.common.types import UserError, user_errors
from graph.context import Info
from graph.rate_limits import client_address, refused

MAX_USER_AGENT = 512


def origin_of(info: Info) -> LoginOrigin:
    """Where a request comes from, as a new login records it (User.sessions)."""
    agent = info.context.request.headers.get("user-agent")
    return LoginOrigin(
        client_address=client_address(info), user_agent=agent[:MAX_USER_AGENT] if agent else None
    )


def _config(info: Info) -> AuthConfig:
    return AuthConfig.from_settings(info.context.settings, info.context.jwt_secret)


def _refusal(problems: list[UserError]) -> AuthPayload:
    return AuthPayload(access_token=None, refresh_token=None, user=None, cart=None, user_errors=problems)


def _payload(result: AuthResult, info: Info) -> AuthPayload:
    return AuthPayload(
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        user=User.from_row(result.user) if result.user else None,
        cart=Cart.from_view(result.cart, info) if result.cart else None,
        user_errors=user_errors(result.problems),
    )


@strawberry.type
class AccountMutation:
    @strawberry.mutation
    async def register(
        self, info: Info, email: str, password: str, name: str, cart_token: str | None = None
    ) -> AuthPayload:
        attempt = rate_limits.register_attempt(info.context.settings, client_address(info), email)
        if problems := await refused(info, attempt):
            return _refusal(problems)
        result = await auth.register(
            info.context.engine,
            _config(info),
            email=email,
            password=password,
            name=name,
            cart_token=cart_token,
            origin=origin_of(info),
        )
        if result.user is not None:
            await account_tokens.send_verification(info.context.engine, info.context.settings, result.user)
        return _payload(result, info)

    @strawberry.mutation
    async def login(
        self, info: Info, email: str, password: str, cart_token: str | None = None
    ) -> AuthPayload:
        attempt = rate_limits.login_attempt(info.context.settings, client_address(info), email)
        if problems := await refused(info, attempt):
            return _refusal(problems)
        result = await auth.login(
            info.context.engine,
            _config(info),
            email=email,
            password=password,
            cart_token=cart_token,
            origin=origin_of(info),
        )
        if result.user is not None:
            # A signed-in client starts again with no failures on this account.
            succeeded = rate_limits.login_succeeded(info.context.settings, client_address(info), email)
            await rate_limits.forget(info.context.engine, succeeded)
        return _payload(result, info)

    @strawberry.mutation
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        attempt = rate_limits.refresh_attempt(info.context.settings, client_address(info))
        if problems := await refused(info, attempt):
            return _refusal(problems)
        result = await auth.refresh(info.context.engine, _config(info), refresh_token=refresh_token)
        return _payload(result, info)

    @strawberry.mutation
    async def logout(self, info: Info, refresh_token: str) -> LogoutPayload:
        problems = await auth.logout(info.context.engine, refresh_token=refresh_token)
        return LogoutPayload(ok=not problems, user_errors=user_errors(problems))
