"""Tuning of a serving process's Python runtime."""

from __future__ import annotations

import gc

# The youngest generation is collected after this many new container objects rather than 700.
# A catalog answer builds thousands of short-lived dicts, lists and objects, nearly all freed by
# reference counting, so the default made the collector run several times per request.
YOUNG_GENERATION_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Collect less often, and never walk what the process built at startup again.

    `gc.freeze` moves every object alive now (modules, the schema, SQLAlchemy's and the parser's
    caches) out of the collector's generations, so full collections only walk what requests made.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
