"""Tuning of a serving process's Python runtime."""

from __future__ import annotations

import gc

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
