"""Customer self-service mutations (issue 17): profile, e-mail, password, address book, sessions,
and deleting the account. Every one but the password reset needs a signed-in customer."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from domain import account_tokens, privacy, rate_limits, self_service
from domain.access import UserRow
from domain.auth import AuthConfig
from domain.self_service import AddressResult, UserResult
from graph.accounts.types import (
    AddressType,
    AuthPayload,
    CustomerAddress,
    CustomerAddressPayload,
    OkPayload,
    User,
    UserPayload,
)
from graph.auth import current_user, login_of
from graph.carts.types import Cart
from graph.common.types import AddressInput, UserError, address_dict, user_errors
from graph.context import Info
from graph.errors import Unauthenticated
from graph.ids import key_of, pk_of
from graph.rate_limits import client_address, refused
from resolvers.accounts.mutations import origin_of


async def _signed_in(info: Info) -> UserRow:
    user = await current_user(info)
    if user is None:
        raise Unauthenticated()
    return user


def _user_payload(result: UserResult) -> UserPayload:
    return UserPayload(
        user=User.from_row(result.user) if result.user else None, user_errors=user_errors(result.problems)
    )


def _address_payload(result: AddressResult) -> CustomerAddressPayload:
    return CustomerAddressPayload(
        address=CustomerAddress.from_row(result.address) if result.address else None,
        user=User.from_row(result.user) if result.user else None,
        user_errors=user_errors(result.problems),
    )


def _ok(problems: Any) -> OkPayload:
    return OkPayload(ok=not problems, user_errors=user_errors(problems))


def _limited_ok(errors: list[UserError]) -> OkPayload:
    return OkPayload(ok=False, user_errors=errors)


def _address_id(global_id: str) -> int:
    return pk_of(global_id, "CustomerAddress") or 0  # 0 is no address: NOT_FOUND


@strawberry.type
class AccountSelfServiceMutation:
    @strawberry.mutation
    async def account_update(self, info: Info, name: str | None = None) -> UserPayload:
        user = await _signed_in(info)
        return _user_payload(await self_service.update_profile(info.context.engine, user, name=name))

    @strawberry.mutation(
        description="Sends a confirmation link to the new address; the change happens when it is confirmed."
    )
    async def account_email_change_request(self, info: Info, new_email: str, password: str) -> OkPayload:
        user = await _signed_in(info)
        attempt = rate_limits.account_mail_attempt(info.context.settings, client_address(info), new_email)
        if errors := await refused(info, attempt):
            return _limited_ok(errors)
        problems = await account_tokens.request_email_change(
            info.context.engine, info.context.settings, user, new_email=new_email, password=password
        )
        return _ok(problems)

    @strawberry.mutation
    async def account_email_change_confirm(self, info: Info, token: str) -> UserPayload:
        return _user_payload(await account_tokens.confirm_email_change(info.context.engine, token))

    @strawberry.mutation(description="Revokes every other session.")
    async def account_password_change(
        self, info: Info, current_password: str, new_password: str
    ) -> UserPayload:
        user = await _signed_in(info)
        result = await self_service.change_password(
            info.context.engine,
            info.context.settings,
            user,
            current_password=current_password,
            new_password=new_password,
            current_session=login_of(info),
        )
        return _user_payload(result)

    @strawberry.mutation(description="Same answer whether or not the e-mail has an account.")
    async def account_password_reset_request(self, info: Info, email: str) -> OkPayload:
        attempt = rate_limits.account_mail_attempt(info.context.settings, client_address(info), email)
        if errors := await refused(info, attempt):
            return _limited_ok(errors)
        await account_tokens.request_password_reset(info.context.engine, info.context.settings, email)
        return OkPayload(ok=True, user_errors=[])

    @strawberry.mutation(
        description=(
            "Sets the password from an e-mailed single-use token, revokes every session, and signs in."
        )
    )
    async def account_password_reset(self, info: Info, token: str, new_password: str) -> AuthPayload:
        attempt = rate_limits.refresh_attempt(info.context.settings, client_address(info))
        if errors := await refused(info, attempt):
            return AuthPayload(
                access_token=None, refresh_token=None, user=None, cart=None, user_errors=errors
            )
        config = AuthConfig.from_settings(info.context.settings, info.context.jwt_secret)
        result = await account_tokens.reset_password(
            info.context.engine, config, token=token, new_password=new_password, origin=origin_of(info)
        )
        return AuthPayload(
            access_token=result.access_token,
            refresh_token=result.refresh_token,
            user=User.from_row(result.user) if result.user else None,
            cart=Cart.from_view(result.cart, info) if result.cart else None,
            user_errors=user_errors(result.problems),
        )

    @strawberry.mutation
    async def account_email_verification_request(self, info: Info) -> OkPayload:
        user = await _signed_in(info)
        attempt = rate_limits.account_mail_attempt(info.context.settings, client_address(info), user.email)
        if errors := await refused(info, attempt):
            return _limited_ok(errors)
        return _ok(
            await account_tokens.request_verification(info.context.engine, info.context.settings, user)
        )

    @strawberry.mutation
    async def account_email_verify(self, info: Info, token: str) -> UserPayload:
        return _user_payload(await account_tokens.verify_email(info.context.engine, token))

    @strawberry.mutation
    async def account_address_create(
        self,
        info: Info,
        input: AddressInput,
        set_default_shipping: bool | None = False,
        set_default_billing: bool | None = False,
    ) -> CustomerAddressPayload:
        user = await _signed_in(info)
        result = await self_service.create_address(
            info.context.engine,
            user,
            address_dict(input),
            default_shipping=bool(set_default_shipping),
            default_billing=bool(set_default_billing),
        )
        return _address_payload(result)

    @strawberry.mutation
    async def account_address_update(
        self,
        info: Info,
        id: strawberry.ID,
        input: AddressInput,
    ) -> CustomerAddressPayload:
        user = await _signed_in(info)
        result = await self_service.update_address(
            info.context.engine, user, _address_id(id), address_dict(input)
        )
        return _address_payload(result)

    @strawberry.mutation
    async def account_address_delete(self, info: Info, id: strawberry.ID) -> CustomerAddressPayload:
        user = await _signed_in(info)
        return _address_payload(await self_service.delete_address(info.context.engine, user, _address_id(id)))

    @strawberry.mutation
    async def account_address_set_default(
        self,
        info: Info,
        id: strawberry.ID,
        type: AddressType,
    ) -> CustomerAddressPayload:
        user = await _signed_in(info)
        result = await self_service.set_default_address(
            info.context.engine, user, _address_id(id), type.value
        )
        return _address_payload(result)

    @strawberry.mutation
    async def account_session_revoke(self, info: Info, id: strawberry.ID) -> OkPayload:
        user = await _signed_in(info)
        key = key_of(id, "Session")
        try:
            family_id = uuid.UUID(hex=key) if key else None
        except ValueError:
            family_id = None
        if family_id is None:
            family_id = uuid.UUID(int=0)  # no such session: NOT_FOUND like another user's
        return _ok(await self_service.revoke_session(info.context.engine, user.id, family_id))

    @strawberry.mutation
    async def account_sessions_revoke_all(self, info: Info, keep_current: bool | None = True) -> OkPayload:
        user = await _signed_in(info)
        keep = login_of(info) if keep_current is not False else None
        await self_service.revoke_all_sessions(info.context.engine, user.id, keep)
        return OkPayload(ok=True, user_errors=[])

    @strawberry.mutation(
        description="Erases or anonymises the customer's personal data; orders are kept without it."
    )
    async def account_delete(self, info: Info, password: str) -> OkPayload:
        user = await _signed_in(info)
        return _ok(await privacy.delete_account(info.context.engine, info.context.settings, user, password))
