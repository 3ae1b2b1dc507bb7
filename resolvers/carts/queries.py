"""Cart queries: cart."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from domain import carts as cart_rules
from graph.auth import viewer
from graph.carts.types import Cart
from graph.context import Info


def price_lock_ttl(info: Info) -> timedelta:
    return timedelta(seconds=info.context.settings.cart_price_lock_ttl)


@strawberry.type
class CartQuery:
    @strawberry.field(description="With a token: that cart. Without one: the signed-in user's cart, or null.")
    async def cart(self, info: Info, token: str | None = None) -> Cart | None:
        lock_ttl = price_lock_ttl(info)
        if token is None:
            signed_in = await viewer(info)
            if signed_in is None:
                return None
            async with info.context.read_engine.connect() as conn:
                view = await cart_rules.cart_of_user(conn, signed_in.id, lock_ttl)
        else:
            async with info.context.read_engine.connect() as conn:
                view = await cart_rules.cart_by_token(conn, token, lock_ttl)
            # Only a user's cart needs to know who asks: an anonymous one is open to its token.
            if view is not None and view.user_id is not None:
                signed_in = await viewer(info)
                if not cart_rules.visible_to(view.user_id, signed_in.id if signed_in else None):
                    return None
        return Cart.from_view(view, info) if view else None
