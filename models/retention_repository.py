"""Deletes of data that has served its time (run by the periodic tasks of jobs.periodic)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# A login (token family) ends when its last token expired or was revoked.
_REFRESH_FAMILIES = text(
    """
    DELETE FROM refresh_tokens WHERE family_id IN (
        SELECT family_id FROM refresh_tokens
        GROUP BY family_id
        HAVING max(LEAST(expires_at, COALESCE(revoked_at, expires_at)))
               < now() - make_interval(secs => :age)
    )
    """
)
# Anonymous carts nobody touched for `age` seconds (their lines go with them; orders keep their
# own snapshots and lose only the link to the cart).
_ANONYMOUS_CARTS = text(
    "DELETE FROM carts WHERE user_id IS NULL AND updated_at < now() - make_interval(secs => :age)"
)


async def delete_ended_refresh_token_families(conn: AsyncConnection, age: int) -> int:
    return (await conn.execute(_REFRESH_FAMILIES, {"age": age})).rowcount


async def delete_abandoned_anonymous_carts(conn: AsyncConnection, age: int) -> int:
    return (await conn.execute(_ANONYMOUS_CARTS, {"age": age})).rowcount
