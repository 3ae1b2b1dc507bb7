"""Account types: the user, and the payloads of signing in and out."""

from __future__ import annotations

import strawberry

from domain.access import UserRow
from graph.carts.types import Cart
from graph.common.types import Node, UserError
from graph.ids import to_global_id


@strawberry.type
class User(Node):
    id: strawberry.ID
    email: str
    name: str
    is_staff: bool
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            email=row.email,
            name=row.name,
            is_staff=row.is_staff,
            pk=row.id,
        )


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
