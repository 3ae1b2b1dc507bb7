"""Account queries: me."""

from __future__ import annotations

import strawberry

from graph.accounts.types import User
from graph.auth import current_user
from graph.context import Info


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user, or null.")
    async def me(self, info: Info) -> User | None:
        user = await current_user(info)
        return User.from_row(user) if user else None
