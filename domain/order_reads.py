"""Orders as their readers see them: rows and the reads behind loaders, pages and subscriptions.

Who may read an order is decided in domain.access; these only read. Naming them here keeps every
layer above domain/ away from the repositories (see pyproject.toml).
"""

from __future__ import annotations

from models.order_repository import (
    OrderLineRow,
    OrderPage,
    OrderRow,
    StatusChangeRow,
    changes_after,
    history_of_orders,
    latest_change_of_orders,
    lines_of_orders,
    order_by_payment_session,
    order_ids_of_user,
    orders_by_ids,
    orders_of_user,
)

__all__ = [
    "OrderLineRow",
    "OrderPage",
    "OrderRow",
    "StatusChangeRow",
    "changes_after",
    "history_of_orders",
    "latest_change_of_orders",
    "lines_of_orders",
    "order_by_payment_session",
    "order_ids_of_user",
    "orders_by_ids",
    "orders_of_user",
]
