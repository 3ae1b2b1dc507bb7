"""Periodic background work of a server process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


async def every(interval: float, work: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `work` every `interval` seconds until cancelled; a failure is logged and retried next time."""
    while True:
        await asyncio.sleep(interval)
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("background task %s failed; retrying in %.1fs", name, interval)
