"""Tuning of a serving process's Python runtime."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

# The youngest generation is collected after this many new container objects rather than 700.
# Under load, dozens of requests are in flight, each holding a few thousand objects: at 700 the
# collector ran several times per request and kept promoting live answers to older generations,
# whose collections then walked them again. Much larger, each young collection walks so many
# live objects that it pauses every request in flight for tens of milliseconds.
YOUNG_GENERATION_THRESHOLD = 2_000


def tune_garbage_collector() -> None:
    """Collect less often, and never walk what the process built at startup again.

    `gc.freeze` moves every object alive now (modules, the schema, SQLAlchemy's and the parser's
    caches) out of the collector's generations, so full collections only walk what requests made.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)


# ---------------------------------------------------------------- collections held during a fan-out

_held = 0  # fan-outs in progress (every hub of the process)
_resume_collector = False  # whether the collector was on when the first of them held it


def without_collections_until_woken(loop: asyncio.AbstractEventLoop, wake: Callable[[], None]) -> None:
    """Run `wake` (which wakes tasks up) and hold the garbage collector until the event loop has run
    every callback ready then: the woken tasks' first steps.

    An event offered to ten thousand subscribers wakes them all at once; each then sends its
    message and waits again, within the loop's next pass. A full collection falling due meanwhile
    walks every object of the process (about three million at 10,000 subscribers: a second of
    CPU) in the middle of that delivery, and the subscribers after it wait the whole second.
    Held, it runs when the collector is back on, right after the delivery: the same work, and
    the event reaches every subscriber first. Reference counting still frees what it frees
    meanwhile; only cycles wait, for the moment the woken subscribers take.
    """
    global _held, _resume_collector
    if _held == 0:
        _resume_collector = gc.isenabled()
        gc.disable()
    _held += 1
    try:
        wake()
    finally:
        loop.call_soon(_release)  # after the callbacks `wake` made ready


def _release() -> None:
    global _held
    _held -= 1
    if _held == 0 and _resume_collector:
        gc.enable()
