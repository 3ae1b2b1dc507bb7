"""Staff only: failedJobs (the background jobs that kept failing) and jobRetry."""

from __future__ import annotations

import strawberry

from domain import jobs
from domain.errors import JobCode, Problem
from graph.auth import require_staff
from graph.common.types import user_errors
from graph.context import Info
from graph.ids import pk_of
from graph.jobs.types import JobRetryPayload

JOB_CURSOR = "failed-job"


@strawberry.type
class JobMutation:
    @strawberry.mutation(description="Staff only: run a failed job again, its attempts starting over.")
    async def job_retry(self, info: Info, id: strawberry.ID) -> JobRetryPayload:
        await require_staff(info)
        pk = pk_of(id, "Job")
        if pk is None or not await jobs.retry_job(info.context.engine, pk):
            problem = Problem(JobCode.NOT_FOUND, "There is no such failed job.", ("id",))
            return JobRetryPayload(queued=False, user_errors=user_errors([problem]))
        return JobRetryPayload(queued=True, user_errors=[])
