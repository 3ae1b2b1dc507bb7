"""Loaded into the benchmark's server by `bench.subscribers --calls` (on PYTHONPATH, with
BENCH_CALLS_OUT set): SIGUSR1 starts cProfile, SIGUSR2 stops it and writes its stats to
BENCH_CALLS_OUT.<n>. The benchmark counts the Python calls of one event's fan-out per subscriber:
a figure that does not depend on how busy the machine is."""

from __future__ import annotations

import os
import signal

_OUT = os.environ.get("BENCH_CALLS_OUT")

if _OUT:
    import cProfile

    _state: dict[str, object] = {"n": 0}

    def _start(*_: object) -> None:
        profile = cProfile.Profile()
        _state["profile"] = profile
        profile.enable()

    def _stop(*_: object) -> None:
        profile = _state.pop("profile", None)
        if isinstance(profile, cProfile.Profile):
            profile.disable()
            profile.dump_stats(f"{_OUT}.{_state['n']}")
            _state["n"] = int(str(_state["n"])) + 1

    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
