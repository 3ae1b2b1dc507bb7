"""Background jobs as staff see them: the ones that kept failing, with their last error."""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.queue import FailedJob as FailedJobRow
from graph.common.types import Node, PageInfo, UserError
from graph.ids import to_global_id


@strawberry.type(description="A background job that failed on every attempt and waits for staff.")
class FailedJob(Node):
    name: str = strawberry.field(description="The task, such as send_order_email or refund_late_payment.")
    attempts: int
    error: str | None = strawberry.field(description="The last attempt's error: its type and message.")
    created_at: datetime
    failed_at: datetime
    order_id: strawberry.ID | None = strawberry.field(description="The order the job was about, if any.")

    @classmethod
    def from_row(cls, row: FailedJobRow) -> FailedJob:
        order_pk = row.payload.get("order_id")
        return cls(
            id=strawberry.ID(to_global_id("Job", row.id)),
            name=row.task,
            attempts=row.attempts,
            error=row.error,
            created_at=row.created_at,
            failed_at=row.failed_at,
            order_id=strawberry.ID(to_global_id("Order", order_pk)) if isinstance(order_pk, int) else None,
        )


@strawberry.type
class FailedJobEdge:
    cursor: str
    node: FailedJob


@strawberry.type
class FailedJobConnection:
    edges: list[FailedJobEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class JobRetryPayload:
    queued: bool = strawberry.field(description="True when the job was queued to run again.")
    user_errors: list[UserError]
