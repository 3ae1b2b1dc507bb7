"""What one shopper holds: unpaid orders and the units they reserve, by customer, e-mail or client address.

Every query looks at orders AWAITING_PAYMENT only, through the partial indexes of migration 0005.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import BigInteger, LargeBinary, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.pii import blind_index


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


_OPEN_ORDERS = text(
    """
    SELECT count(*) FILTER (WHERE o.user_id = :user_id) AS by_user,
           count(*) FILTER (WHERE o.email_index = :email_index) AS by_email,
           count(*) FILTER (WHERE o.client_key = :client_key) AS by_client
    FROM orders o
    WHERE o.status = 'AWAITING_PAYMENT'
      AND (o.user_id = :user_id OR o.email_index = :email_index OR o.client_key = :client_key)
    """
).bindparams(
    bindparam("user_id", type_=BigInteger),
    bindparam("email_index", type_=LargeBinary),
    bindparam("client_key", type_=LargeBinary),
)


_LOCKS = {
    count: text("SELECT " + ", ".join(f"pg_advisory_xact_lock(:key{i})" for i in range(count))).bindparams(
        *(bindparam(f"key{i}", type_=BigInteger) for i in range(count))
    )
    for count in (1, 2, 3)  # one key per identity (Shopper.lock_keys)
}


async def lock_shopper(conn: AsyncConnection, shopper: Shopper) -> None:
    """Serialise one shopper's checkouts until the transaction ends, so that what they count holds.

    One statement takes every key's lock, in the keys' fixed order (a one-row select list is
    evaluated left to right): the same waits as one statement per key, in one round trip."""
    keys = shopper.lock_keys()
    if keys:
        await conn.execute(_LOCKS[len(keys)], {f"key{i}": key for i, key in enumerate(keys)})


@dataclass(slots=True, frozen=True)
class OpenOrders:
    by_user: int
    by_email: int
    by_client: int


async def open_orders(conn: AsyncConnection, shopper: Shopper) -> OpenOrders:
    """The shopper's orders awaiting payment, counted by each of their identities."""
    email_index = blind_index(shopper.email.lower()) if shopper.email else None
    params = {"user_id": shopper.user_id, "email_index": email_index, "client_key": shopper.client_key}
    row = (await conn.execute(_OPEN_ORDERS, params)).one()
    return OpenOrders(by_user=row.by_user, by_email=row.by_email, by_client=row.by_client)
