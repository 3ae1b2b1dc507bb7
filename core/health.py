"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

logger = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    expected = request.app.state.head_revision
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), request.app.state.read_engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        logger.warning("readiness check failed: %s", type(error).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if current != expected:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migrations": "pending"}, status_code=503
        )
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "head"})
