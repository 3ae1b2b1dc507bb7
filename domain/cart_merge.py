"""Merging an anonymous cart into the user's cart when they sign in or register."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.cart_prices import line_total, line_write, lock_of, unit_price
from domain.carts import (
    MAX_CART_LINES,
    MAX_CART_SUBTOTAL,
    MAX_LINE_QUANTITY,
    could_be_cart_token,
    lock_or_create_user_cart,
)
from models import cart_repository as repo
from models.cart_repository import CartLineRow, LinePlacement


def plan_merge(source: Sequence[CartLineRow], target: Sequence[CartLineRow]) -> list[LinePlacement]:
    """What merging the `source` lines into the `target` lines writes.

    Quantities of one variant add up, capped at what is available and at the per-line maximum
    (a target line already above what is available keeps its quantity). Moved lines keep their
    price lock, for the units it covered; a variant already in the target keeps the target's,
    and the units added to it are priced as any addition (domain.price_lock). Lines that would
    push the cart past its size or total limits are left out.
    """
    existing = {line.variant.id: line for line in target}
    line_count = len(target)
    subtotal = sum(line_total(line) for line in target)
    placements: list[LinePlacement] = []
    for line in source:
        mine = existing.get(line.variant.id)
        have = mine.quantity if mine else 0
        ceiling = min(MAX_LINE_QUANTITY, max(line.variant.quantity_available, 0))
        extra = max(min(have + line.quantity, ceiling) - have, 0)
        # Each added unit costs the locked or the current price: counted at the dearer of the two.
        price = max(unit_price(mine) if mine else unit_price(line), line.variant.price)
        if price:
            extra = min(extra, (MAX_CART_SUBTOTAL - subtotal) // price)
        if extra <= 0 or (mine is None and line_count >= MAX_CART_LINES):
            continue
        line_count += mine is None
        subtotal += price * extra
        locked = (
            line_write(mine, mine.variant, have + extra).locked_quantity
            if mine
            else min(lock_of(line).locked_quantity, extra)
        )
        placements.append(
            LinePlacement(
                variant_id=line.variant.id,
                quantity=have + extra,
                unit_price=line.unit_price,
                price_locked_at=line.price_locked_at,
                locked_quantity=locked,
            )
        )
    return placements


async def merge_anonymous_cart(
    conn: AsyncConnection, *, user_id: int, cart_token: str, lock_ttl: timedelta
) -> bool:
    """Merge the anonymous cart with this token into the user's cart and retire it.

    A token that names no active anonymous cart (unknown, already merged, or a user's cart) is
    left alone: signing in must not fail over a stale cart token. Returns whether a merge happened.
    """
    if not could_be_cart_token(cart_token):
        return False
    anonymous = await repo.lock_active_cart_by_token(conn, cart_token)
    if anonymous is None or anonymous.user_id is not None:
        return False
    target = await lock_or_create_user_cart(conn, user_id)
    source_state = await repo.cart_state(conn, anonymous.id, lock_ttl)
    target_state = await repo.cart_state(conn, target.id, lock_ttl)
    await repo.place_lines(conn, target.id, plan_merge(source_state.lines, target_state.lines))
    await repo.set_cart_status(conn, anonymous.id, "merged")
    return True
