"""The cart a checkout is about, read under its lock, with what each line's price depends on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Interval, and_, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.cart_repository import cart_lines, price_lock_holds
from models.catalog import Product, ProductVariant
from models.holding_repository import (
    OPEN_ORDER_COUNTS,
    SHOPPER_LOCKS,
    OpenOrders,
    Shopper,
    open_order_params,
    open_orders_of,
    shopper_lock_params,
)
from models.totals_repository import REFERENCE_COLUMNS, LineFacts, References, reference_params, references_of

products = Product.__table__
variants = ProductVariant.__table__


@dataclass(slots=True, frozen=True)
class CheckoutCart:
    id: int
    user_id: int | None
    status: str


@dataclass(slots=True, frozen=True)
class CheckoutCartLine:
    """A cart line with its price lock and the variant's current price (priced by domain.price_lock)."""

    variant_id: int
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    locked_price: int
    locked_quantity: int
    price_locked: bool
    current_price: int
    product_active: bool
    product_id: int
    category_id: int | None
    tax_class: str
    is_shipping_required: bool
    weight_grams: int

    @property
    def facts(self) -> LineFacts:
        """What the order's totals need to know of the line's variant (domain.quotes)."""
        return LineFacts(
            self.product_id, self.category_id, self.tax_class, self.is_shipping_required, self.weight_grams
        )


# The cart, locked, and marked checked out when it is active and the caller's: the flip is part
# of the checkout's transaction, so any refusal after it (a rollback) gives the cart back. The
# status returned is the one found, so that a repeated checkout sees its cart already checked out.
_CLAIM = """
    WITH target AS ({target}),
    claimed AS (
        UPDATE carts c SET status = 'checked_out', updated_at = now()
        FROM target t
        WHERE c.id = t.id AND t.status = 'active'
            AND (t.user_id IS NULL OR t.user_id = CAST(:user_id AS bigint))
        RETURNING c.id
    )
    SELECT t.id, t.user_id, t.status, {locks} AS shopper_locks FROM target t
"""
_CLAIM_BY_TOKEN = text(
    _CLAIM.format(
        target="SELECT id, user_id, status FROM carts WHERE token = :token FOR UPDATE", locks=SHOPPER_LOCKS
    )
)
_CLAIM_BY_USER = text(
    _CLAIM.format(
        target="SELECT id, user_id, status FROM carts WHERE user_id = :user_id AND status = 'active'"
        " ORDER BY id DESC LIMIT 1 FOR UPDATE",
        locks=SHOPPER_LOCKS,
    )
)


async def claim_cart(
    conn: AsyncConnection, *, token: str | None, user_id: int | None, shopper: Shopper
) -> CheckoutCart | None:
    """The cart a checkout is about, locked: by token (anonymous or the caller's own), else the
    user's; marked checked out in the same statement when it was active (`status`: as found).
    With the cart's lock, the same statement takes the shopper's (models.holding_repository)."""
    locks = shopper_lock_params(shopper)
    if token is not None:
        row = (await conn.execute(_CLAIM_BY_TOKEN, {"token": token, "user_id": user_id, **locks})).first()
        if row is None or (row.user_id is not None and row.user_id != user_id):
            return None
    elif user_id is not None:
        row = (await conn.execute(_CLAIM_BY_USER, {"user_id": user_id, **locks})).first()
        if row is None:
            return None
    else:
        return None
    return CheckoutCart(id=row.id, user_id=row.user_id, status=row.status)


_PRICED_CART_LINES = (
    select(
        cart_lines.c.variant_id,
        variants.c.sku,
        products.c.name.label("product_name"),
        variants.c.name.label("variant_name"),
        cart_lines.c.quantity,
        cart_lines.c.unit_price.label("locked_price"),
        cart_lines.c.locked_quantity,
        price_lock_holds(bindparam("lock_ttl", type_=Interval)).label("price_locked"),
        variants.c.price.label("current_price"),
        and_(products.c.is_active, variants.c.deleted_at.is_(None)).label("product_active"),
        products.c.id.label("product_id"),
        products.c.category_id,
        products.c.tax_class,
        products.c.is_shipping_required,
        variants.c.weight_grams,
    )
    .select_from(
        cart_lines.join(variants, variants.c.id == cart_lines.c.variant_id).join(
            products, products.c.id == variants.c.product_id
        )
    )
    .where(cart_lines.c.cart_id == bindparam("cart_id"))
    .order_by(cart_lines.c.id)
)


async def priced_cart_lines(
    conn: AsyncConnection, cart_id: int, price_lock_ttl: timedelta
) -> list[CheckoutCartLine]:
    """Lines with what their price depends on: the lock, whether it holds, and today's price."""
    params = {"cart_id": cart_id, "lock_ttl": price_lock_ttl}
    return [CheckoutCartLine(**row._mapping) for row in await conn.execute(_PRICED_CART_LINES, params)]


_LINE_FIELDS = tuple(CheckoutCartLine.__dataclass_fields__)
_CLAIMED_LINES = _PRICED_CART_LINES.add_columns(*OPEN_ORDER_COUNTS, *REFERENCE_COLUMNS)


@dataclass(slots=True, frozen=True)
class ClaimedLines:
    lines: list[CheckoutCartLine]
    open_orders: OpenOrders  # the shopper's orders awaiting payment
    references: References | None  # None when the cart has no lines


async def claimed_lines(
    conn: AsyncConnection,
    cart_id: int,
    price_lock_ttl: timedelta,
    shopper: Shopper,
    address: dict[str, str | None],
) -> ClaimedLines:
    """`priced_cart_lines` of the claimed cart and, in the same statement, what checkout decides
    with them: the shopper's orders awaiting payment (counted after the claim's statement, so
    under the shopper's lock) and the totals' references for the shipping address."""
    params = {
        "cart_id": cart_id,
        "lock_ttl": price_lock_ttl,
        **open_order_params(shopper),
        **reference_params(address),
    }
    rows = (await conn.execute(_CLAIMED_LINES, params)).all()
    if not rows:
        return ClaimedLines([], OpenOrders(0, 0, 0), None)
    lines = [CheckoutCartLine(*(row._mapping[name] for name in _LINE_FIELDS)) for row in rows]
    return ClaimedLines(lines, open_orders_of(rows[0]), references_of(rows[0]))


async def reopen_cart(conn: AsyncConnection, cart_id: int) -> None:
    """Give a cart back to its shopper, unless a signed-in owner has started another since."""
    await conn.execute(
        text(
            """
            UPDATE carts c SET status = 'active', updated_at = now()
            WHERE c.id = :id AND (
                c.user_id IS NULL
                OR NOT EXISTS (SELECT 1 FROM carts o WHERE o.user_id = c.user_id AND o.status = 'active')
            )
            """
        ),
        {"id": cart_id},
    )
