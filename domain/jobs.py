"""Jobs that kept failing, for staff: listed with their error, and queued again on request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from core.queue import FailedJob, count_failed_jobs, failed_jobs, retry_failed_job


@dataclass(slots=True, frozen=True)
class FailedJobPage:
    jobs: list[FailedJob]
    has_next_page: bool
    total_count: int


async def list_failed_jobs(engine: AsyncEngine, limit: int, before_id: int | None) -> FailedJobPage:
    """Newest first; `before_id` continues after the last job of the previous page."""
    async with engine.connect() as conn:
        jobs = await failed_jobs(conn, limit=limit + 1, before_id=before_id)
        total = await count_failed_jobs(conn)
    return FailedJobPage(jobs=jobs[:limit], has_next_page=len(jobs) > limit, total_count=total)


async def retry_job(engine: AsyncEngine, job_id: int) -> bool:
    """Queue a failed job again, its attempts starting over; False when no failed job has that id."""
    async with engine.begin() as conn:
        return await retry_failed_job(conn, job_id)
