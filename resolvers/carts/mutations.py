"""Cart mutations: cartLinesAdd, cartLinesUpdate, cartLinesRemove."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import carts as cart_rules
from domain import order_totals, rate_limits
from domain.cart_prices import CartView
from domain.carts import LineChange, LineRequest
from domain.errors import DiscountCode as DiscountCodeError
from domain.errors import Problem, Rejected
from graph.auth import viewer
from graph.carts.types import Cart, CartLineInput, CartLineUpdateInput, CartPayload
from graph.common.types import user_errors
from graph.context import Info
from graph.ids import pk_of
from graph.rate_limits import client_address, refused
from resolvers.carts.queries import price_lock_ttl


async def _answer(view: Awaitable[CartView], info: Info) -> CartPayload:
    """A cart mutation's answer: the cart, or the userErrors of a rejected one (which changed nothing)."""
    try:
        cart = await view
    except Rejected as rejected:
        return CartPayload(cart=None, user_errors=user_errors(rejected.problems))
    return CartPayload(cart=Cart.from_view(cart, info), user_errors=[])


async def _change_cart(
    info: Info, change: Callable[[AsyncConnection, int | None], Awaitable[CartView]]
) -> CartPayload:
    """Run one cart mutation in one transaction."""
    signed_in = await viewer(info)  # before the transaction: never hold two connections at once

    async def run() -> CartView:
        async with info.context.engine.begin() as conn:
            return await change(conn, signed_in.id if signed_in else None)

    return await _answer(run(), info)


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Adds lines; without a cartToken and signed out, starts a new anonymous cart."
    )
    async def cart_lines_add(
        self, info: Info, *, cart_token: str | None = None, lines: list[CartLineInput]
    ) -> CartPayload:
        requests = [LineRequest(pk_of(line.variant_id, "ProductVariant"), line.quantity) for line in lines]
        signed_in = await viewer(info)
        viewer_id = signed_in.id if signed_in else None
        if cart_rules.starts_cart(viewer_id, cart_token):
            start = rate_limits.cart_start_attempt(info.context.settings, client_address(info))
            if problems := await refused(info, start):  # counted first: a refused start writes nothing
                return CartPayload(cart=None, user_errors=problems)
        added = cart_rules.add_to_cart(
            info.context.engine,
            viewer_id=viewer_id,
            cart_token=cart_token,
            lines=requests,
            lock_ttl=price_lock_ttl(info),
        )
        return await _answer(added, info)

    @strawberry.mutation
    async def cart_lines_update(
        self, info: Info, *, cart_token: str | None = None, lines: list[CartLineUpdateInput]
    ) -> CartPayload:
        changes = [LineChange(pk_of(line.line_id, "CartLine"), line.quantity) for line in lines]
        return await _change_cart(
            info,
            lambda conn, viewer_id: cart_rules.update_lines(
                conn,
                viewer_id=viewer_id,
                cart_token=cart_token,
                changes=changes,
                lock_ttl=price_lock_ttl(info),
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
                conn, viewer_id=viewer_id, cart_token=cart_token, line_ids=ids, lock_ttl=price_lock_ttl(info)
            ),
        )

    @strawberry.mutation(description="Puts a discount code on the cart (one per cart: it replaces another).")
    async def cart_discount_code_apply(
        self, info: Info, code: str, cart_token: str | None = None
    ) -> CartPayload:
        return await _change_code(info, code, cart_token, apply=True)

    @strawberry.mutation(description="Takes a discount code off the cart.")
    async def cart_discount_code_remove(
        self, info: Info, code: str, cart_token: str | None = None
    ) -> CartPayload:
        return await _change_code(info, code, cart_token, apply=False)


async def _change_code(info: Info, code: str, cart_token: str | None, *, apply: bool) -> CartPayload:
    lock_ttl = price_lock_ttl(info)

    async def change(conn: AsyncConnection, viewer_id: int | None) -> CartView:
        try:
            cart = await cart_rules.lock_cart(conn, viewer_id=viewer_id, token=cart_token)
        except Rejected as rejected:
            raise Rejected(
                [Problem(DiscountCodeError.CART_NOT_FOUND, p.message, p.field) for p in rejected.problems]
            ) from None
        if apply:
            problems = await order_totals.apply_code(conn, cart.id, code, lock_ttl)
        else:
            problems = await order_totals.remove_code(conn, cart.id, code)
        if problems:
            raise Rejected(problems)
        return await cart_rules.current_view(conn, cart, lock_ttl)

    return await _change_cart(info, change)
