"""Liveness and readiness probes.

/readyz answers 200 while the primary database answers and its migrations are at head (503
otherwise), and reports each dependency on its own: the primary, the read replica (off, ok,
lagging or down: reads then go to the primary), the LISTEN connection (order events and cache
invalidation) and the job queue.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

logger = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0
_FAILURES = (SQLAlchemyError, OSError, TimeoutError)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _job_queue(state: Any) -> str:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), state.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1 FROM pgqueuer LIMIT 1"))
    except _FAILURES:
        return "down"
    return "ok"


async def _replica(state: Any) -> str:
    replica = getattr(state, "replica", None)
    if replica is None:
        return "off"
    return str(replica.state)


def _listener(state: Any) -> str:
    events = getattr(state, "order_events", None)
    return "ok" if events is not None and events.connected.is_set() else "down"


async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    expected = state.head_revision
    others: dict[str, str] = {}
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), state.read_engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except _FAILURES as error:
        logger.warning("readiness check failed: %s", type(error).__name__)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "primary": "down"}, status_code=503
        )
    others = {
        "replica": await _replica(state),
        "listener": _listener(state),
        "jobQueue": await _job_queue(state),
    }
    if current != expected:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migrations": "pending", "primary": "ok", **others},
            status_code=503,
        )
    return JSONResponse(
        {"status": "ready", "database": "ok", "migrations": "head", "primary": "ok", **others}
    )
