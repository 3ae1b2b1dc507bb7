"""Root cart operations: cart, cartLinesAdd, cartLinesUpdate, cartLinesRemove."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import carts as cart_rules
from domain.cart_prices import CartView
from domain.carts import LineChange, LineRequest
from domain.errors import Rejected
from graph.auth import viewer
from graph.context import Info
from graph.ids import pk_of
from graph.types.carts import Cart, CartLineInput, CartLineUpdateInput, CartPayload
from graph.types.common import user_errors


def _lock_ttl(info: Info) -> timedelta:
    return timedelta(seconds=info.context.settings.cart_price_lock_ttl)


async def _change_cart(
    info: Info, change: Callable[[AsyncConnection, int | None], Awaitable[CartView]]
) -> CartPayload:
    """Run one cart mutation in one transaction; a rejected one changes nothing."""
    signed_in = await viewer(info)  # before the transaction: never hold two connections at once
    try:
        async with info.context.engine.begin() as conn:
            view = await change(conn, signed_in.id if signed_in else None)
    except Rejected as rejected:
        return CartPayload(cart=None, user_errors=user_errors(rejected.problems))
    return CartPayload(cart=Cart.from_view(view, info), user_errors=[])


@strawberry.type
class CartQuery:
    @strawberry.field(description="With a token: that cart. Without one: the signed-in user's cart, or null.")
    async def cart(self, info: Info, token: str | None = None) -> Cart | None:
        lock_ttl = _lock_ttl(info)
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


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Adds lines; without a cartToken and signed out, starts a new anonymous cart."
    )
    async def cart_lines_add(
        self, info: Info, *, cart_token: str | None = None, lines: list[CartLineInput]
    ) -> CartPayload:
        requests = [LineRequest(pk_of(line.variant_id, "ProductVariant"), line.quantity) for line in lines]
        return await _change_cart(
            info,
            lambda conn, viewer_id: cart_rules.add_lines(
                conn, viewer_id=viewer_id, cart_token=cart_token, lines=requests, lock_ttl=_lock_ttl(info)
            ),
        )

    @strawberry.mutation
    async def cart_lines_update(
        self, info: Info, *, cart_token: str | None = None, lines: list[CartLineUpdateInput]
    ) -> CartPayload:
        changes = [LineChange(pk_of(line.line_id, "CartLine"), line.quantity) for line in lines]
        return await _change_cart(
            info,
            lambda conn, viewer_id: cart_rules.update_lines(
                conn, viewer_id=viewer_id, cart_token=cart_token, changes=changes, lock_ttl=_lock_ttl(info)
            ),
        )

    @strawberry.mutation
    async def cart_lines_remove(
        self, info: Info, *, cart_token: str | None = None, line_ids: list[strawberry.ID]
    ) -> CartPayload:
        ids = [pk_of(line_id, "CartLine") for line_id in line_ids]
        return await _change_cart(
            info,
            lambda conn, viewer_id: cart_rules.remove_lines(
                conn, viewer_id=viewer_id, cart_token=cart_token, line_ids=ids, lock_ttl=_lock_ttl(info)
            ),
        )
