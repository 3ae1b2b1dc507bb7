"""Data that has served its time, deleted by the periodic tasks of jobs.periodic."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from models import retention_repository as retention


async def purge_refresh_tokens(engine: AsyncEngine, age: int) -> int:
    """Logins (refresh token families) that ended, by expiry or revocation, `age` seconds ago."""
    async with engine.begin() as conn:
        return await retention.delete_ended_refresh_token_families(conn, age)


async def purge_anonymous_carts(engine: AsyncEngine, age: int) -> int:
    """Anonymous carts nobody touched for `age` seconds."""
    async with engine.begin() as conn:
        return await retention.delete_abandoned_anonymous_carts(conn, age)
