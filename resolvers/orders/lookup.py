"""Finding the order a root field names (the staff check, require_staff, is graph.auth's)."""

from __future__ import annotations

from domain.order_reads import OrderRow
from graph.auth import require_staff
from graph.context import Info
from graph.ids import pk_of


async def load_order(info: Info, global_id: str) -> OrderRow | None:
    pk = pk_of(global_id, "Order")
    return await info.context.loaders.order.load(pk) if pk is not None else None


__all__ = ["load_order", "require_staff"]
