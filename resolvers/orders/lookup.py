"""Finding the order a root field names, and the staff check of the staff-only order fields."""

from __future__ import annotations

from domain.order_reads import OrderRow
from graph.auth import Viewer, require_viewer
from graph.context import Info
from graph.errors import Forbidden
from graph.ids import pk_of


async def load_order(info: Info, global_id: str) -> OrderRow | None:
    pk = pk_of(global_id, "Order")
    return await info.context.loaders.order.load(pk) if pk is not None else None


async def require_staff(info: Info) -> Viewer:
    reader = await require_viewer(info)
    if not reader.is_staff:
        raise Forbidden("Only staff may do this.")
    return reader
