"""Order queries: orders (the signed-in user's), order."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import order_reads
from domain.access import may_read_order
from graph.auth import require_viewer, viewer
from graph.common.types import PageInfo
from graph.context import Info
from graph.orders.types import Order, OrderConnection, OrderEdge
from graph.pagination import decode_cursor, encode_cursor, page_size
from resolvers.orders.lookup import load_order

ORDER_CURSOR = "orders:NEWEST"


@strawberry.type
class OrderQuery:
    @strawberry.field(description="The signed-in user's orders, newest first.")
    async def orders(self, info: Info, first: int | None = None, after: str | None = None) -> OrderConnection:
        reader = await require_viewer(info)
        limit = page_size(first)
        after_key = decode_cursor(after, ORDER_CURSOR, (datetime, int)) if after else None
        async with info.context.read_engine.connect() as conn:
            page = await order_reads.orders_of_user(conn, reader.id, limit, after_key)  # type: ignore[arg-type]
        edges = [
            OrderEdge(cursor=encode_cursor(ORDER_CURSOR, (row.created_at, row.id)), node=Order.from_row(row))
            for row in page.rows
        ]
        return OrderConnection(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges],
                has_next_page=page.has_next_page,
                after_given=after_key is not None,
            ),
            total_count=page.total_count,
        )

    @strawberry.field(
        description="An order its owner, a staff member, or the holder of its orderToken may read."
    )
    async def order(self, info: Info, id: strawberry.ID, order_token: str | None = None) -> Order | None:
        order = await load_order(info, id)
        if order is None or not may_read_order(
            order, await viewer(info), order_token, info.context.order_token_secret
        ):
            return None
        return Order.from_row(order)
