"""Who may do what: the reader of a request and the rules that decide what they may see and do.

The GraphQL layer finds the reader (graph.auth) and turns a refusal into its error shape; the
decisions themselves are made here, so that every entry point decides alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.orders import order_token_matches
from models.account_repository import UserRow
from models.order_repository import OrderRow

__all__ = ["UserRow", "Viewer", "actor_name", "actor_of", "actor_user_id", "may_read_order", "viewer_of"]


@dataclass(slots=True, frozen=True)
class Viewer:
    """The signed-in user of a request, as the rules need them."""

    id: int
    email: str
    is_staff: bool


def viewer_of(user: UserRow | None) -> Viewer | None:
    return Viewer(id=user.id, email=user.email, is_staff=user.is_staff) if user else None


def may_read_order(
    order: OrderRow, reader: Viewer | None, order_token: str | None, token_secret: str
) -> bool:
    """The owner, staff, or the holder of the order's token; to anyone else the order does not exist."""
    if reader is not None and (reader.is_staff or reader.id == order.user_id):
        return True
    return order_token_matches(token_secret, order.public_id, order_token)


def actor_of(reader: Viewer | None) -> str:
    """How the order history names who made a change."""
    if reader is None:
        return "guest"
    return f"staff:{reader.id}" if reader.is_staff else f"user:{reader.id}"


# The other actors the order history records: the payment provider's webhook (domain.payment_events;
# recorded as "stripe", also for the sandbox's events, which take the same path) and the shop's own
# jobs (reservation expiry, a failed payment session).
_NAMED = {
    "guest": "the buyer (guest checkout)",
    "system": "the shop (automatically)",
    "stripe": "the payment provider (webhook)",
}


def actor_user_id(actor: str) -> int | None:
    """The user an actor of `actor_of` names ("staff:N", "user:N"); None for the others."""
    kind, _, number = actor.partition(":")
    return int(number) if kind in ("staff", "user") and number.isdigit() else None


def actor_name(actor: str, users: dict[int, UserRow]) -> str:
    """An actor as staff read it: "Ada Admin <ada@shop.example> (staff)", "the customer
    bob@example.com", "the payment provider (webhook)"; the recorded actor itself when the user
    is not in `users`."""
    user_id = actor_user_id(actor)
    user = users.get(user_id) if user_id is not None else None
    if user is None:
        return _NAMED.get(actor, actor)
    if actor.startswith("staff:"):
        return f"{user.name} <{user.email}> (staff)" if user.name else f"{user.email} (staff)"
    return f"the customer {user.email}"
