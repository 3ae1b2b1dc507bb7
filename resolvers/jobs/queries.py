"""Staff only: failedJobs (the background jobs that kept failing) and jobRetry."""

from __future__ import annotations

import strawberry

from domain import jobs
from graph.auth import require_staff
from graph.common.types import PageInfo
from graph.context import Info
from graph.jobs.types import FailedJob, FailedJobConnection, FailedJobEdge
from graph.pagination import decode_cursor, encode_cursor, page_size

JOB_CURSOR = "failed-job"


@strawberry.type
class JobQuery:
    @strawberry.field(description="Staff only: background jobs that failed on every attempt, newest first.")
    async def failed_jobs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> FailedJobConnection:
        await require_staff(info)
        limit = page_size(first)
        after_key = decode_cursor(after, JOB_CURSOR, (int,)) if after else None
        page = await jobs.list_failed_jobs(info.context.engine, limit, after_key[0] if after_key else None)
        edges = [
            FailedJobEdge(cursor=encode_cursor(JOB_CURSOR, (job.id,)), node=FailedJob.from_row(job))
            for job in page.jobs
        ]
        return FailedJobConnection(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges],
                has_next_page=page.has_next_page,
                after_given=after_key is not None,
            ),
            total_count=page.total_count,
        )
