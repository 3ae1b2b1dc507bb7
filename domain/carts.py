"""Cart rules: who may use a cart, adding, changing and removing lines.

Prices are domain.cart_prices; merging an anonymous cart into a user's is domain.cart_merge.

Every mutating function expects to run inside one transaction and starts by locking the cart
row, which serialises the mutations of one cart: the stock and size checks made on what it
reads still hold when it writes. A rejected call raises `Rejected`, so the transaction rolls
back and nothing changes. `start_cart` (a new anonymous cart) has no cart to lock yet and
writes in one statement; `add_to_cart` chooses between it and `add_lines`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db import read_engine_of
from domain.cart_prices import CartView, cart_view, line_total, line_write
from domain.errors import CartCode, Problem, Rejected
from models import cart_repository as repo
from models.cart_repository import CartLineRow, CartRow, CartState, LineWrite, WrittenLine
from models.catalog_repository import VariantRow

MAX_LINE_QUANTITY = 99
MAX_CART_LINES = 100
# Money amounts travel as 32-bit GraphQL Ints.
MAX_CART_SUBTOTAL = 2**31 - 1
_CART_TOKEN_BYTES = 24  # 192 random bits
MAX_CART_TOKEN_LENGTH = 100


@dataclass(slots=True, frozen=True)
class LineRequest:
    """Add `quantity` of a variant; `variant_id` is None when the given id names no variant."""

    variant_id: int | None
    quantity: int


@dataclass(slots=True, frozen=True)
class LineChange:
    """Set a line's quantity (0 removes it); `line_id` is None when the given id names no line."""

    line_id: int | None
    quantity: int


def _problem(field: tuple[str, ...] | None, message: str, code: CartCode) -> Problem:
    return Problem(code=code, message=message, field=field)


def new_cart_token() -> str:
    return secrets.token_urlsafe(_CART_TOKEN_BYTES)


def could_be_cart_token(token: str) -> bool:
    """Whether a token is worth looking up: ours are short URL-safe ASCII, and PostgreSQL text
    cannot even hold some characters a client may send (NUL)."""
    return len(token) <= MAX_CART_TOKEN_LENGTH and token.isascii() and token.isprintable()


def visible_to(cart_user_id: int | None, viewer_id: int | None) -> bool:
    """An anonymous cart is open to whoever holds its token; a user's cart only to that user."""
    return cart_user_id is None or cart_user_id == viewer_id


# ---------------------------------------------------------------- reading


async def cart_by_token(conn: AsyncConnection, token: str, lock_ttl: timedelta) -> CartView | None:
    """The active cart with this token, whoever owns it: check `visible_to` before showing it."""
    if not could_be_cart_token(token):
        return None
    contents = await repo.active_cart_by_token(conn, token, lock_ttl)
    return cart_view(contents.cart, contents.lines) if contents else None


async def cart_of_user(conn: AsyncConnection, user_id: int, lock_ttl: timedelta) -> CartView | None:
    contents = await repo.active_cart_of_user(conn, user_id, lock_ttl)
    return cart_view(contents.cart, contents.lines) if contents else None


async def current_view(conn: AsyncConnection, cart: CartRow, lock_ttl: timedelta) -> CartView:
    state = await repo.cart_state(conn, cart.id, lock_ttl)
    return cart_view(cart, state.lines)


# ---------------------------------------------------------------- locking


def _cart_not_found(message: str = "No cart with this token.") -> Rejected:
    return Rejected([_problem(("cart_token",), message, CartCode.CART_NOT_FOUND)])


async def lock_or_create_user_cart(conn: AsyncConnection, user_id: int) -> CartRow:
    cart = await repo.lock_active_cart_of_user(conn, user_id)
    if cart is None:
        cart = await repo.insert_cart(conn, new_cart_token(), user_id)
    if cart is None:  # created by a concurrent request since we looked
        cart = await repo.lock_active_cart_of_user(conn, user_id)
    assert cart is not None
    return cart


async def lock_cart(
    conn: AsyncConnection, *, viewer_id: int | None, token: str | None, create: bool = False
) -> CartRow:
    """Lock the cart a mutation works on: the token's cart, else the viewer's own cart.

    With `create`, a signed-in viewer without a cart gets one. Raises `Rejected`
    (CART_NOT_FOUND) otherwise: a signed-out caller without a token has no cart to lock (a new
    anonymous cart is `start_cart`'s, which `add_to_cart` chooses for that case).
    """
    if token is not None:
        cart = await repo.lock_active_cart_by_token(conn, token) if could_be_cart_token(token) else None
        if cart is None or not visible_to(cart.user_id, viewer_id):
            raise _cart_not_found()
        return cart
    if viewer_id is not None:
        if create:
            return await lock_or_create_user_cart(conn, viewer_id)
        cart = await repo.lock_active_cart_of_user(conn, viewer_id)
        if cart is None:
            raise _cart_not_found("You have no cart yet.")
        return cart
    raise _cart_not_found("Pass the cart's token, or sign in.")


# ---------------------------------------------------------------- changing lines


def _quantity_problem(path: tuple[str, ...], quantity: int, minimum: int) -> Problem | None:
    if quantity < minimum or quantity > MAX_LINE_QUANTITY:
        return _problem(
            path,
            f"Quantity must be between {minimum} and {MAX_LINE_QUANTITY}.",
            CartCode.INVALID_QUANTITY,
        )
    return None


def _too_many_lines(field: str) -> Problem:
    return _problem(
        (field,), f"A cart holds at most {MAX_CART_LINES} different items.", CartCode.INVALID_QUANTITY
    )


def _stock_problem(path: tuple[str, ...], quantity: int, variant: VariantRow) -> Problem | None:
    if quantity > MAX_LINE_QUANTITY:
        return _problem(
            path, f"At most {MAX_LINE_QUANTITY} of one item fit in a cart.", CartCode.INVALID_QUANTITY
        )
    available = max(variant.quantity_available, 0)
    if quantity > available:
        return _problem(path, f"Only {available} of {variant.sku} available.", CartCode.OUT_OF_STOCK)
    return None


def _subtotal_problem(field: str, subtotal: int) -> Problem | None:
    if subtotal > MAX_CART_SUBTOTAL:
        return _problem(
            (field,), "The cart's total would be larger than a cart can hold.", CartCode.INVALID_QUANTITY
        )
    return None


def starts_cart(viewer_id: int | None, cart_token: str | None) -> bool:
    """Whether `add_to_cart` starts a new anonymous cart: signed out and without a cart token
    (a start is rate limited per client address, domain.rate_limits.cart_start_attempt)."""
    return cart_token is None and viewer_id is None


async def add_to_cart(
    engine: AsyncEngine,
    *,
    viewer_id: int | None,
    cart_token: str | None,
    lines: Sequence[LineRequest],
    lock_ttl: timedelta,
) -> CartView:
    """cartLinesAdd: signed out and without a token, a new anonymous cart (`start_cart`);
    otherwise `add_lines` on the locked cart (the token's, else the viewer's), in one transaction."""
    if starts_cart(viewer_id, cart_token):
        return await start_cart(engine, lines=lines)
    async with engine.begin() as conn:
        return await add_lines(
            conn, viewer_id=viewer_id, cart_token=cart_token, lines=lines, lock_ttl=lock_ttl
        )


async def add_lines(
    conn: AsyncConnection,
    *,
    viewer_id: int | None,
    cart_token: str | None,
    lines: Sequence[LineRequest],
    lock_ttl: timedelta,
) -> CartView:
    added, indexes = _requested(lines)
    cart = await lock_cart(conn, viewer_id=viewer_id, token=cart_token, create=True)
    state = await repo.cart_state(conn, cart.id, lock_ttl, list(added))
    written = await repo.write_lines(conn, cart.id, _additions(state, added, indexes))
    return cart_view(cart, lines_after_additions(state, written))


async def start_cart(engine: AsyncEngine, *, lines: Sequence[LineRequest]) -> CartView:
    """`add_lines` without a cart token, signed out: a new anonymous cart with its lines.

    Nothing is there to lock yet, so no transaction is needed: one read of the variants, then
    one statement that inserts the cart with its lines (both or neither), each its own
    transaction (models.cart_repository.insert_cart_with_lines). The checks are `add_lines'`,
    on the same read-committed figures it would read; a rejected call writes nothing.
    """
    added, indexes = _requested(lines)
    async with read_engine_of(engine).begin() as conn:
        state = CartState(lines=[], other_variants=await repo.variants_for_sale(conn, list(added)))
        writes = _additions(state, added, indexes)
        cart, written = await repo.insert_cart_with_lines(conn, new_cart_token(), writes)
    return cart_view(cart, lines_after_additions(state, written))


def _requested(lines: Sequence[LineRequest]) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Units to add per variant (repeated variants summed) and the request lines naming each;
    raises `Rejected` for lines that can never be added."""
    if len(lines) > MAX_CART_LINES:
        raise Rejected([_too_many_lines("lines")])
    problems: list[Problem] = []
    added: dict[int, int] = {}  # variant id -> quantity to add, summed over repeated variants
    indexes: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        if line.variant_id is None:
            problems.append(
                _problem(("lines", str(index), "variant_id"), "No such variant.", CartCode.NOT_FOUND)
            )
            continue
        problem = _quantity_problem(("lines", str(index), "quantity"), line.quantity, 1)
        if problem:
            problems.append(problem)
            continue
        added[line.variant_id] = added.get(line.variant_id, 0) + line.quantity
        indexes.setdefault(line.variant_id, []).append(index)
    if problems:
        raise Rejected(problems)
    return added, indexes


def _additions(state: CartState, added: dict[int, int], indexes: dict[int, list[int]]) -> list[LineWrite]:
    """The line writes that add `added` to the cart `state` read; raises `Rejected` when a
    variant is not for sale, stock or the cart's limits cannot take them."""
    problems: list[Problem] = []
    in_cart = {line.variant.id: line for line in state.lines}
    subtotal = sum(line_total(line) for line in state.lines)
    writes: list[LineWrite] = []
    for variant_id, quantity in added.items():
        line = in_cart.get(variant_id)
        variant = line.variant if line else state.other_variants.get(variant_id)
        if variant is None:
            problems += [
                _problem(("lines", str(index), "variant_id"), "No such variant.", CartCode.NOT_FOUND)
                for index in indexes[variant_id]
            ]
            continue
        total = quantity + (line.quantity if line else 0)
        problem = _stock_problem(("lines", str(indexes[variant_id][-1]), "quantity"), total, variant)
        if problem:
            problems.append(problem)
            continue
        # The added units cost today's price; a lapsed lock is started anew at it (domain.price_lock).
        subtotal += (line_total(line, total) - line_total(line)) if line else variant.price * quantity
        writes.append(line_write(line, variant, total))
    if len(state.lines) + sum(1 for variant_id in added if variant_id not in in_cart) > MAX_CART_LINES:
        problems.append(_too_many_lines("lines"))
    problems += filter(None, [_subtotal_problem("lines", subtotal)])
    if problems:
        raise Rejected(problems)
    return writes


def lines_after_additions(state: CartState, written: Sequence[WrittenLine]) -> list[CartLineRow]:
    """The cart's lines once `written` (what the addition returned) replaced those it changed.

    This spares reading the cart again: the variants are those `state` read in this transaction,
    and a written lock holds (it was kept while holding, or started now; the database clock is
    the transaction's, so it cannot lapse in between).
    """
    variants = {line.variant.id: line.variant for line in state.lines} | state.other_variants
    by_variant = {line.variant.id: line for line in state.lines}
    for line in written:
        by_variant[line.variant_id] = CartLineRow(
            id=line.id,
            variant=variants[line.variant_id],
            quantity=line.quantity,
            unit_price=line.unit_price,
            price_locked_at=line.price_locked_at,
            price_locked=True,
            locked_quantity=line.locked_quantity,
        )
    return sorted(by_variant.values(), key=lambda line: line.id)


async def update_lines(
    conn: AsyncConnection,
    *,
    viewer_id: int | None,
    cart_token: str | None,
    changes: Sequence[LineChange],
    lock_ttl: timedelta,
) -> CartView:
    if len(changes) > MAX_CART_LINES:
        raise Rejected([_too_many_lines("lines")])
    problems: list[Problem] = []
    for index, change in enumerate(changes):
        if change.line_id is None:
            problems.append(
                _problem(("lines", str(index), "line_id"), "No such cart line.", CartCode.NOT_FOUND)
            )
        elif problem := _quantity_problem(("lines", str(index), "quantity"), change.quantity, 0):
            problems.append(problem)
    if problems:
        raise Rejected(problems)

    cart = await lock_cart(conn, viewer_id=viewer_id, token=cart_token)
    state = await repo.cart_state(conn, cart.id, lock_ttl)
    by_id = {line.id: line for line in state.lines}
    quantities: dict[int, int] = {}  # line id -> new quantity; the last change of a line wins
    index_of: dict[int, int] = {}
    for index, change in enumerate(changes):
        assert change.line_id is not None
        if change.line_id not in by_id:
            problems.append(
                _problem(("lines", str(index), "line_id"), "No such cart line.", CartCode.NOT_FOUND)
            )
            continue
        quantities[change.line_id] = change.quantity
        index_of[change.line_id] = index
    for line_id, quantity in quantities.items():
        if quantity > 0:
            path = ("lines", str(index_of[line_id]), "quantity")
            problems += filter(None, [_stock_problem(path, quantity, by_id[line_id].variant)])
    subtotal = sum(line_total(line, quantities.get(line.id, line.quantity)) for line in state.lines)
    problems += filter(None, [_subtotal_problem("lines", subtotal)])
    if problems:
        raise Rejected(problems)

    changed = {
        line_id: (quantity, line_write(by_id[line_id], by_id[line_id].variant, quantity).locked_quantity)
        for line_id, quantity in quantities.items()
        if quantity
    }
    await repo.set_line_quantities(conn, cart.id, changed)
    await repo.delete_lines(conn, cart.id, [key for key, value in quantities.items() if not value])
    return await current_view(conn, cart, lock_ttl)


async def remove_lines(
    conn: AsyncConnection,
    *,
    viewer_id: int | None,
    cart_token: str | None,
    line_ids: Sequence[int | None],
    lock_ttl: timedelta,
) -> CartView:
    """Remove lines by id; an id that is not a line of the cart fails the whole call."""
    if len(line_ids) > MAX_CART_LINES:
        raise Rejected([_too_many_lines("line_ids")])
    problems = [
        _problem(("line_ids", str(index)), "No such cart line.", CartCode.NOT_FOUND)
        for index, line_id in enumerate(line_ids)
        if line_id is None
    ]
    if problems:
        raise Rejected(problems)
    cart = await lock_cart(conn, viewer_id=viewer_id, token=cart_token)
    removed = await repo.delete_lines(conn, cart.id, [line_id for line_id in line_ids if line_id is not None])
    problems = [
        _problem(("line_ids", str(index)), "No such cart line.", CartCode.NOT_FOUND)
        for index, line_id in enumerate(line_ids)
        if line_id not in removed
    ]
    if problems:
        raise Rejected(problems)
    return await current_view(conn, cart, lock_ttl)
