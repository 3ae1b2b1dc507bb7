"""Account types: the user, their saved addresses and sessions, and the payloads of the account
mutations."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry

from domain import self_service
from domain.access import UserRow
from domain.self_service import AddressRow, SessionRow
from graph.auth import login_of, viewer
from graph.carts.types import Cart
from graph.common.types import Address, Node, UserError, address_of
from graph.context import Info
from graph.errors import Forbidden
from graph.ids import to_global_id, to_global_key_id


@strawberry.enum
class AddressType(Enum):
    SHIPPING = "shipping"
    BILLING = "billing"


@strawberry.type
class CustomerAddress(Node):
    id: strawberry.ID
    address: Address
    is_default_shipping: bool
    is_default_billing: bool

    @classmethod
    def from_row(cls, row: AddressRow) -> CustomerAddress:
        return cls(
            id=strawberry.ID(to_global_id("CustomerAddress", row.id)),
            address=address_of(row.address),
            is_default_shipping=row.is_default_shipping,
            is_default_billing=row.is_default_billing,
        )


@strawberry.type
class Session(Node):
    id: strawberry.ID
    created_at: datetime
    last_used_at: datetime | None
    client_address: str | None
    user_agent: str | None
    current: bool = strawberry.field(description="The session of the access token that asks.")

    @classmethod
    def from_row(cls, row: SessionRow, current: uuid.UUID | None) -> Session:
        return cls(
            id=strawberry.ID(to_global_key_id("Session", row.family_id.hex)),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            client_address=row.client_address,
            user_agent=row.user_agent,
            current=row.family_id == current,
        )


async def _owner_only(info: Info, user_id: int) -> None:
    reader = await viewer(info)
    if reader is None or reader.id != user_id:
        raise Forbidden("Only the customer sees their addresses and sessions.")


@strawberry.type
class User(Node):
    id: strawberry.ID
    email: str
    name: str
    is_staff: bool
    email_verified: bool
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            email=row.email,
            name=row.name,
            is_staff=row.is_staff,
            email_verified=row.email_verified_at is not None,
            pk=row.id,
        )

    @strawberry.field
    async def addresses(self, info: Info) -> list[CustomerAddress]:
        await _owner_only(info, self.pk)
        rows = await self_service.address_book(info.context.engine, self.pk)
        return [CustomerAddress.from_row(row) for row in rows]

    @strawberry.field
    async def sessions(self, info: Info) -> list[Session]:
        await _owner_only(info, self.pk)
        rows = await self_service.sessions(info.context.engine, self.pk)
        current = login_of(info)
        return [Session.from_row(row, current) for row in rows]


@strawberry.type
class AuthPayload:
    access_token: str | None = strawberry.field(description="Short-lived JWT for the Authorization header.")
    refresh_token: str | None = strawberry.field(
        description="Opaque, single-use token that buys a new pair from refreshToken."
    )
    user: User | None
    cart: Cart | None = strawberry.field(
        description="The signed-in user's cart, with any anonymous cart passed in merged into it."
    )
    user_errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool
    user_errors: list[UserError]


@strawberry.type
class UserPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.type
class CustomerAddressPayload:
    address: CustomerAddress | None
    user: User | None
    user_errors: list[UserError]


@strawberry.type
class OkPayload:
    ok: bool
    user_errors: list[UserError]
