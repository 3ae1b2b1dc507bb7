"""Account queries: me, myDataExport."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain import privacy
from graph.accounts.types import User
from graph.auth import current_user
from graph.context import Info
from graph.errors import Unauthenticated


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user, or null.")
    async def me(self, info: Info) -> User | None:
        user = await current_user(info)
        return User.from_row(user) if user else None

    @strawberry.field(description="Everything held about the signed-in customer, as one JSON document.")
    async def my_data_export(self, info: Info) -> JSON:
        user = await current_user(info)
        if user is None:
            raise Unauthenticated()
        document: Any = await privacy.export(info.context.engine, user)
        return document
