"""`python main.py rotate-keys`: re-encrypt personal data with PII_ACTIVE_KEY, online, in batches.

Each batch is a short transaction of its own; a row written meanwhile keeps its new value. The
old key must stay in PII_KEYS until the command has finished (values are read with it); after
that it may be removed.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from core import pii
from models import pii_repository as repo

logger = logging.getLogger(__name__)
BATCH = 500


async def rotate(engine: AsyncEngine, batch: int = BATCH) -> dict[str, int]:
    """Rows re-encrypted, per table."""
    active = pii.active_key_id()
    done: dict[str, int] = {}
    for target in repo.encrypted_tables():
        after: object = None
        total = 0
        while True:
            async with engine.begin() as conn:
                changed, after = await repo.rotate_batch(conn, target, active, after, batch)
            total += changed
            if after is None:
                break
        done[target.table.name] = total
        logger.info("rotate-keys: %s: %d row(s) re-encrypted with key %s", target.table.name, total, active)
    return done


async def stale_rows(engine: AsyncEngine) -> int:
    """Rows still holding a value of another key than the active one."""
    active = pii.active_key_id()
    async with engine.connect() as conn:
        return sum([await repo.count_stale(conn, target, active) for target in repo.encrypted_tables()])
