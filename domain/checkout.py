"""Checkout: a cart becomes an order awaiting payment, with its stock reserved, and a payment session.

1. One transaction locks the cart, prices its lines, reserves their stock (all or nothing),
   creates the order with snapshots of the lines and its first history entry, and closes the cart.
2. After it commits, the payment provider opens a session, with an idempotency key derived
   from the order. If the provider cannot be reached, the order is cancelled, its stock
   released and the cart reopened, so the shopper can simply try again.
3. The session is recorded on the order.
A second checkout of the same cart finds the first order and returns it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db import read_engine_of
from domain import holding_limits, notifications, order_totals, price_lock
from domain.addresses import normalise_address, redirect_allowed
from domain.auth import InvalidEmail, normalize_email
from domain.carts import could_be_cart_token
from domain.checkout_precheck import FirstLook, Settled, out_of_stock, turn
from domain.errors import CheckoutCode, PaymentCode, Problem
from domain.holding_limits import HoldingLimits
from domain.orders import OrderStatus, change_status, order_token
from domain.payments import CheckoutLine, CheckoutRequest, PaymentProvider, PaymentProviderUnavailable
from domain.quotes import TotalsSettings
from models import checkout_repository as checkout_carts
from models import inventory_repository as inventory
from models import order_repository as orders
from models.checkout_repository import CheckoutCartLine
from models.order_repository import NewOrderLine, OrderRow

logger = logging.getLogger(__name__)

MAX_ORDER_TOTAL = 2**31 - 1
MAX_EMAIL_LENGTH = 254


@dataclass(slots=True, frozen=True)
class CheckoutInput:
    user_id: int | None
    user_email: str | None
    cart_token: str | None
    email: str | None
    shipping_address: dict[str, str | None]
    success_url: str | None
    cancel_url: str | None
    client_address: str | None = None
    # version 2 (domain.order_totals): None picks the cheapest method; billing defaults to shipping.
    shipping_method_id: int | None = None
    vat_number: str | None = None
    billing_address: dict[str, str | None] | None = None


@dataclass(slots=True)
class CheckoutResult:
    order: OrderRow | None = None
    payment_url: str | None = None
    order_token: str | None = None
    problems: list[Problem] = field(default_factory=list)
    # The lines just inserted, when this checkout created the order (its payment lines, unread).
    new_lines: list[NewOrderLine] = field(default_factory=list)
    # Units of each variant left on sale after this checkout's reservation (none when it made none).
    left: dict[int, int] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class CheckoutSettings:
    currency: str
    reservation_ttl: int
    price_lock_ttl: int
    storefront_url: str
    allowed_redirect_origins: list[str]
    token_secret: str
    limits: HoldingLimits = field(default_factory=HoldingLimits)
    totals: TotalsSettings = field(default_factory=lambda: TotalsSettings(False, "DE"))


def _normalise_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return None


def _validate(
    data: CheckoutInput, settings: CheckoutSettings
) -> tuple[str, dict[str, str | None], list[Problem]]:
    problems: list[Problem] = []
    email = data.user_email
    if data.email is not None or email is None:
        email = _normalise_email(data.email)
        if email is None or len(email) > MAX_EMAIL_LENGTH:
            problems.append(
                Problem(CheckoutCode.INVALID_EMAIL, "Give a valid e-mail address for the order.", ("email",))
            )
    if data.cart_token is not None and not could_be_cart_token(data.cart_token):
        problems.append(Problem(CheckoutCode.CART_NOT_FOUND, "There is no such cart.", ("cart_token",)))
    address, address_problems = normalise_address(data.shipping_address)
    problems.extend(
        Problem(
            CheckoutCode.INVALID_ADDRESS,
            f"{problem.field} {problem.message}.",
            ("shipping_address", problem.field),
        )
        for problem in address_problems
    )
    problems.extend(order_totals.billing_problems(data.billing_address))
    for name, url in (("success_url", data.success_url), ("cancel_url", data.cancel_url)):
        if url is not None and not redirect_allowed(url, settings.allowed_redirect_origins):
            problems.append(
                Problem(CheckoutCode.INVALID_URL, "Redirects must go back to the storefront.", (name,))
            )
    return email or "", address, problems


async def checkout(
    engine: AsyncEngine,
    payments: PaymentProvider,
    settings: CheckoutSettings,
    data: CheckoutInput,
    look: FirstLook | None = None,
) -> CheckoutResult:
    """`look`: the request's rate-limit count and pre-check read of this cart, when it made them
    together (domain.checkout_precheck.first_look); else the pre-check reads here."""
    email, address, problems = _validate(data, settings)
    if problems:
        return CheckoutResult(problems=problems)
    # Cheap losers (domain.checkout_precheck): out of stock by a lock-free read, refused before
    # waiting on any row lock; attempts at the same variants take turns in this process.
    settled = Settled()  # what the reservation left, for those waiting their turn (no re-read)
    async with turn(
        engine, settings.limits, cart_token=data.cart_token, user_id=data.user_id, settled=settled, look=look
    ) as refused:
        if refused is not None:
            return CheckoutResult(problems=[refused])
        async with engine.connect() as conn:
            async with conn.begin() as transaction:
                result = await _create_order(conn, settings, data, email, address)
                if result.problems:
                    await transaction.rollback()
                    return result
                settled.stamp()  # the reservation's row locks are held until the commit
        settled.commit(result.left)
    order = result.order
    assert order is not None

    if order.payment_url is None:
        request = CheckoutRequest(
            order_id=order.id,
            public_id=order.public_id,
            number=order.number,
            email=order.email,
            currency=order.currency,
            lines=_payment_lines_of(result.new_lines) or await _payment_lines(engine, order.id),
            **order_totals.payment_extras(order),
            success_url=data.success_url
            or f"{settings.storefront_url}/checkout/success?order={order.number}",
            cancel_url=data.cancel_url or f"{settings.storefront_url}/checkout/cancel?order={order.number}",
            expires_at=order.reservation_expires_at,
        )
        try:
            session = await payments.open_checkout(request)
        except PaymentProviderUnavailable:
            await _abandon(engine, order)
            return CheckoutResult(
                problems=[
                    Problem(
                        PaymentCode.PAYMENT_PROVIDER_UNAVAILABLE,
                        "The payment provider cannot be reached. Nothing was charged; please try again.",
                    )
                ]
            )
        # One UPDATE: on the AUTOCOMMIT engine begin() sends no BEGIN or COMMIT (behind a pooler,
        # where that engine is the engine itself, it is a transaction as before).
        async with read_engine_of(engine).begin() as conn:
            refreshed = await orders.set_payment_session(
                conn, order.id, session.id, session.url, request.success_url, request.cancel_url
            )
            if refreshed is None:  # another session was recorded first: answer the order as it is
                refreshed = (await orders.orders_by_ids(conn, [order.id]))[order.id]
        order = refreshed
    return CheckoutResult(
        order=order,
        payment_url=order.payment_url,
        order_token=order_token(settings.token_secret, order.public_id),
    )


async def _create_order(
    conn: AsyncConnection,
    settings: CheckoutSettings,
    data: CheckoutInput,
    email: str,
    address: dict[str, str | None],
) -> CheckoutResult:
    shopper = holding_limits.shopper(data.user_id, email, data.client_address)
    cart = await checkout_carts.claim_cart(conn, token=data.cart_token, user_id=data.user_id, shopper=shopper)
    if cart is None:
        return CheckoutResult(
            problems=[Problem(CheckoutCode.CART_NOT_FOUND, "There is no such cart.", ("cart_token",))]
        )
    if cart.status != "active":
        existing = await orders.order_by_cart(conn, cart.id)
        if existing is not None and existing.status == OrderStatus.AWAITING_PAYMENT.value:
            return CheckoutResult(order=existing)
        return CheckoutResult(
            problems=[
                Problem(CheckoutCode.CART_NOT_FOUND, "This cart is already checked out.", ("cart_token",))
            ]
        )

    claimed = await checkout_carts.claimed_lines(
        conn, cart.id, timedelta(seconds=settings.price_lock_ttl), shopper, address
    )
    lines = claimed.lines
    if not lines:
        return CheckoutResult(
            problems=[Problem(CheckoutCode.CART_EMPTY, "The cart is empty.", ("cart_token",))]
        )
    wanted = [holding_limits.Wanted(line.variant_id, line.sku, line.quantity) for line in lines]
    if problems := holding_limits.size_problems(settings.limits, wanted):
        return CheckoutResult(problems=problems)
    if unavailable := [line.sku for line in lines if not line.product_active]:
        return CheckoutResult(problems=[out_of_stock(unavailable)])
    if problems := holding_limits.open_order_problems(settings.limits, claimed.open_orders):
        return CheckoutResult(problems=problems)
    order_lines = _order_lines(lines)
    facts = {line.variant_id: line.facts for line in lines}
    priced = await order_totals.price_order(
        conn, settings.totals, data, address, email, cart.id, order_lines, facts, claimed.references
    )
    if priced.problems:
        return CheckoutResult(problems=priced.problems)
    order_lines = priced.lines
    subtotal = sum(line.quantity * line.unit_price for line in order_lines)
    if max(subtotal, priced.snapshot.shipping + subtotal + priced.snapshot.tax) > MAX_ORDER_TOTAL:
        return CheckoutResult(
            problems=[Problem(CheckoutCode.ORDER_TOO_LARGE, "The order total is too large.", ("cart_token",))]
        )

    actor = f"user:{data.user_id}" if data.user_id else "guest"
    placed = await orders.insert_order(
        conn,
        user_id=data.user_id,
        cart_id=cart.id,
        email=email,
        status=OrderStatus.AWAITING_PAYMENT.value,
        currency=settings.currency,
        shipping_address=address,
        lines=order_lines,
        reservation_expires_at=datetime.now(UTC) + timedelta(seconds=settings.reservation_ttl),
        reason="checkout created",
        actor=actor,
        client_key=shopper.client_key,
        totals=priced.snapshot,
    )
    order = placed.order  # the statement also appended its history entry and published it
    if problems := await order_totals.consume_code(conn, priced, order.id, email):
        return CheckoutResult(problems=problems)
    await notifications.order_changed(conn, order.id, OrderStatus.AWAITING_PAYMENT.value)
    # The reservation comes last: the variants' row locks are held only from here to the commit,
    # so concurrent checkouts of one variant queue on it for two round trips (the update, the
    # commit; three for a cart of several variants: lock, update, commit), not the whole order.
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
    reservation = await inventory.reserve(conn, quantities)
    if reservation.short:
        return CheckoutResult(
            problems=[out_of_stock([line.sku for line in lines if line.variant_id in reservation.short])]
        )
    if problems := holding_limits.reservation_problems(settings.limits, wanted, reservation.left):
        return CheckoutResult(problems=problems)
    return CheckoutResult(order=order, new_lines=order_lines, left=reservation.left)


def _order_lines(lines: list[CheckoutCartLine]) -> list[NewOrderLine]:
    """One order line per price a cart line's units cost (domain.price_lock): locked units, then others."""
    return [
        NewOrderLine(
            variant_id=line.variant_id,
            sku=line.sku,
            product_name=line.product_name,
            variant_name=line.variant_name,
            quantity=units,
            unit_price=price,
        )
        for line in lines
        for units, price in price_lock.charged_parts(
            line.quantity,
            line.current_price,
            price_lock.Lock(line.locked_price, line.locked_quantity, holds=line.price_locked),
        )
    ]


def _payment_lines_of(lines: list[NewOrderLine] | list[orders.OrderLineRow]) -> tuple[CheckoutLine, ...]:
    """The payment lines of an order's lines: those this checkout inserted, or as they are read back."""
    return tuple(
        CheckoutLine(
            name=f"{line.product_name} ({line.variant_name})",
            unit_amount=line.unit_price,
            quantity=line.quantity,
        )
        for line in lines
    )


async def _payment_lines(engine: AsyncEngine, order_id: int) -> tuple[CheckoutLine, ...]:
    async with engine.connect() as conn:
        lines = (await orders.lines_of_orders(conn, [order_id]))[order_id]
    return _payment_lines_of(lines)


async def _abandon(engine: AsyncEngine, order: OrderRow) -> None:
    """The provider failed: cancel the order, release its stock and give the shopper the cart back."""
    async with engine.begin() as conn:
        await change_status(
            conn,
            order.id,
            OrderStatus.CANCELLED,
            actor="system",
            reason="payment provider unavailable",
            only_from={OrderStatus.AWAITING_PAYMENT},
            cart_id=None,
        )
        if order.cart_id is not None:
            await checkout_carts.reopen_cart(conn, order.cart_id)
