"""The one order state machine, shared by checkout, payment events, expiry and staff.

Every status change goes through `change_status`: it locks the order, refuses moves the
lifecycle does not allow, moves stock as the change requires, appends to the history,
and publishes the change with pg_notify inside the same transaction (the history entry's
statement queues it: models.order_repository.change_order).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from core import metrics
from domain import notifications
from models import inventory_repository as inventory
from models import order_repository as orders
from models import totals_repository as discount_uses
from models.order_repository import OrderLineRow, OrderRow, OrderWithLines, StatusChangeRow
from models.orders import OrderStatus

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.AWAITING_PAYMENT, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.FAILED, S.CANCELLED}),
    S.PAID: frozenset({S.PROCESSING, S.REFUNDED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.REFUNDED}),
}
UNPAID = frozenset({S.PENDING, S.AWAITING_PAYMENT})
PAID_NOT_SHIPPED = frozenset({S.PAID, S.PROCESSING})
REFUNDABLE = frozenset({S.PAID, S.PROCESSING, S.SHIPPED, S.DELIVERED})

EXPIRED_REASON = "payment window expired"


def can_change(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


@dataclass(slots=True, frozen=True)
class StatusChange:
    order: OrderRow
    change: StatusChangeRow | None

    @property
    def changed(self) -> bool:
        return self.change is not None


class InvalidTransition(Exception):
    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"An order that is {current.value} cannot become {target.value}.")
        self.current = current
        self.target = target


async def change_status(
    conn: AsyncConnection,
    order_id: int,
    target: OrderStatus,
    *,
    actor: str,
    reason: str | None = None,
    only_from: Collection[OrderStatus] | None = None,
    locked: OrderWithLines | None = None,
    **fields: object,
) -> StatusChange:
    """Move an order to `target` inside the caller's transaction.

    `only_from` narrows the allowed starting points further (a payment event may only
    move an order that is still waiting for it). A move the lifecycle forbids raises
    InvalidTransition; one outside `only_from` changes nothing and returns `changed == False`.
    `locked` is the order and its lines when the caller has locked it already in this transaction
    (`order_with_lines(..., lock=True)`): no statement of its own to lock it or read its lines.
    """
    lines: list[OrderLineRow] | None = None
    if locked is not None and locked.order.id == order_id:
        order: OrderRow | None = locked.order
        lines = locked.lines
    else:
        order = await orders.lock_order(conn, order_id)
    if order is None:
        raise LookupError(order_id)
    current = OrderStatus(order.status)
    if only_from is not None and current not in only_from:
        return StatusChange(order=order, change=None)
    if not can_change(current, target):
        raise InvalidTransition(current, target)

    stock_state = await _move_stock(conn, order, current, target, lines)
    if current in UNPAID and target in (S.CANCELLED, S.FAILED):
        await discount_uses.release_uses(conn, order.id)  # a code's use comes back (issue 15)
    values: dict[str, object] = {"status": target.value, **fields}
    if stock_state != order.stock_state:
        values["stock_state"] = stock_state
    # The order as it now is and its history entry, from one statement (nothing below writes the order row).
    changed = await orders.change_order(
        conn,
        order.id,
        from_status=current.value,
        to_status=target.value,
        reason=reason,
        actor=actor,
        **values,
    )
    assert changed is not None  # and published: the statement queued its notification
    updated, change = changed.order, changed.change
    metrics.order_status_changed(current.value, target.value)
    await notifications.order_changed(conn, order.id, target.value)
    return StatusChange(order=updated, change=change)


async def _move_stock(
    conn: AsyncConnection,
    order: OrderRow,
    current: OrderStatus,
    target: OrderStatus,
    lines: list[OrderLineRow] | None = None,
) -> str:
    """Stock follows the order: held while unpaid, sold when paid, back on sale if it never ships."""
    if order.stock_state not in ("reserved", "committed"):
        return order.stock_state
    if lines is None:
        lines = (await orders.lines_of_orders(conn, [order.id])).get(order.id, [])
    quantities: dict[int, int] = {}
    for line in lines:
        if line.variant_id is not None:
            quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
    if order.stock_state == "reserved":
        if target is S.PAID:
            await inventory.commit(conn, quantities)
            return "committed"
        if target in (S.CANCELLED, S.FAILED):
            await inventory.release(conn, quantities)
            return "released"
    elif current in PAID_NOT_SHIPPED and target in (S.CANCELLED, S.REFUNDED):
        await inventory.restock(conn, quantities)
        return "restocked"
    return order.stock_state


# ---------------------------------------------------------------- guest access


def order_token(secret: str, public_id: uuid.UUID) -> str:
    """The secret that lets a guest read and follow one order: an HMAC of the order's public id."""
    digest = hmac.new(secret.encode(), b"order-token:" + public_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def order_token_matches(secret: str, public_id: uuid.UUID, token: str | None) -> bool:
    if not token or not token.isascii():  # ours are ASCII; compare_digest refuses other text
        return False
    return hmac.compare_digest(order_token(secret, public_id), token)
