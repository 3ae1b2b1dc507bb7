"""The read replica (DATABASE_REPLICA_URL): catalog reads go there while it is up and close
enough behind the primary; otherwise, and for REPLICA_MAX_LAG after a catalog change this
process heard of, they go to the primary.

Lag is measured by WAL position, not by the replica's last replay time (which grows on an idle
primary): every REPLICA_CHECK_INTERVAL the primary's current WAL position is noted with the time;
the lag is the age of the oldest position the replica has not replayed yet.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 0.5
CHECK_TIMEOUT = 2.0


def lsn(value: str) -> int:
    """A PostgreSQL WAL position ("16/B374D848") as a number."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class Replica:
    def __init__(self, engine: AsyncEngine, primary: AsyncEngine, max_lag: float) -> None:
        self.engine = engine  # AUTOCOMMIT reads on the replica
        self.primary = primary
        self.max_lag = max_lag
        self.state = "starting"  # ok, lagging, down
        self.lag = 0.0
        self._pending: collections.deque[tuple[float, int]] = collections.deque()
        self._primary_until = 0.0
        self._task: asyncio.Task[None] | None = None

    def catalog_engine(self) -> AsyncEngine:
        """Where a catalog read goes now."""
        if self.state == "ok" and time.monotonic() >= self._primary_until:
            return self.engine
        return self.primary

    def catalog_changed(self) -> None:
        """A catalog change was committed: read it from the primary until the replica has it."""
        self._primary_until = time.monotonic() + self.max_lag + 2 * CHECK_INTERVAL

    async def check(self) -> str:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                async with self.primary.connect() as conn:
                    current = (await conn.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar_one()
                async with self.engine.connect() as conn:
                    replayed = (
                        await conn.execute(
                            text(
                                "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn()::text, '0/0')"
                            )
                        )
                    ).one()
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            self._set("down", f"unreachable ({type(error).__name__})")
            return self.state
        now = time.monotonic()
        if not self._pending or self._pending[-1][1] < lsn(current):
            self._pending.append((now, lsn(current)))
        while self._pending and self._pending[0][1] <= lsn(replayed[1]):
            self._pending.popleft()
        self.lag = now - self._pending[0][0] if self._pending else 0.0
        if not replayed[0]:
            self._set("down", "not a standby (pg_is_in_recovery() is false)")
        elif self.lag > self.max_lag:
            self._set("lagging", f"{self.lag:.1f} s behind")
        else:
            self._set("ok", "catalog reads go to the replica")
        return self.state

    def _set(self, state: str, why: str) -> None:
        if state != self.state:
            log = logger.info if state == "ok" else logger.warning
            log("read replica %s: %s", state, why)
        self.state = state

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="replica watch")

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_INTERVAL)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.engine.dispose()
