"""What one shopper holds: unpaid orders and the units they reserve, by customer, e-mail or client address.

Every query looks at orders AWAITING_PAYMENT only, through the partial indexes of migration 0005.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, bindparam, func, literal_column, select

from core.pii import blind_index
from models.orders import Order

orders = Order.__table__


@dataclass(slots=True, frozen=True)
class Shopper:
    """Who checks out: any of these may be unknown (None)."""

    user_id: int | None
    email: str | None
    client_key: bytes | None

    def lock_keys(self) -> list[int]:
        """Advisory-lock keys, one per known identity, in a fixed order (no deadlock between two)."""
        names = [
            f"user:{self.user_id}" if self.user_id is not None else None,
            f"email:{self.email}" if self.email else None,
            f"client:{self.client_key.hex()}" if self.client_key else None,
        ]
        keys = {
            int.from_bytes(hashlib.sha256(f"shopper:{name}".encode()).digest()[:8], "big", signed=True)
            for name in names
            if name
        }
        return sorted(keys)


# Serialises one shopper's checkouts until the transaction ends, so that what they count holds:
# an expression for the select list of the checkout's first locked statement (the cart's claim,
# models.checkout_repository), which takes every key's lock in the keys' fixed order (the
# aggregate consumes the array in order). Parameter: `shopper_lock_params`.
SHOPPER_LOCKS = "(SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:shopper_keys AS bigint[])) AS k)"


def shopper_lock_params(shopper: Shopper) -> dict[str, Any]:
    return {"shopper_keys": shopper.lock_keys()}


@dataclass(slots=True, frozen=True)
class OpenOrders:
    by_user: int
    by_email: int
    by_client: int


def _open_by(column: Any, param: str, type_: Any) -> Any:
    # The status as a literal, so that the partial indexes of migration 0005 match any plan.
    return (
        select(func.count())
        .select_from(orders)
        .where(
            orders.c.status == literal_column("'AWAITING_PAYMENT'"),
            column == bindparam(param, type_=type_),
        )
        .scalar_subquery()
    )


# The shopper's orders awaiting payment, counted by each of their identities: columns for a
# statement of the checkout's transaction that runs after the one that takes `SHOPPER_LOCKS` (its
# snapshot is then taken once the shopper's lock is held). Parameters: `open_order_params`.
OPEN_ORDER_COUNTS = (
    _open_by(orders.c.user_id, "open_user_id", BigInteger).label("open_by_user"),
    _open_by(orders.c.email_index, "open_email_index", LargeBinary).label("open_by_email"),
    _open_by(orders.c.client_key, "open_client_key", LargeBinary).label("open_by_client"),
)


def open_order_params(shopper: Shopper) -> dict[str, Any]:
    return {
        "open_user_id": shopper.user_id,
        "open_email_index": blind_index(shopper.email.lower()) if shopper.email else None,
        "open_client_key": shopper.client_key,
    }


def open_orders_of(row: Any) -> OpenOrders:
    """`OPEN_ORDER_COUNTS` as read in a row."""
    return OpenOrders(row.open_by_user, row.open_by_email, row.open_by_client)
