"""What a load generator is asked to send, what it reports, and which generator runs.

Three kinds of load: the same body on every request (`Fixed`), a body made unique per request
by a counter (`Unique`), and per-connection sequences of bodies sent in turn, each request
after the previous answer on that connection (`PerConnection`, one connection per sequence).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

CONNECTIONS = 32
# Each run of a Unique load starts its counter in a block of its own, so no two runs repeat a body.
NONCE_BLOCK = 10**9
_nonce_blocks = itertools.count(1)


@dataclass(frozen=True)
class Fixed:
    body: bytes


@dataclass(frozen=True)
class Unique:
    template: bytes  # with workloads.NONCE_PLACEHOLDER where the counter goes


@dataclass(frozen=True)
class PerConnection:
    sequences: Sequence[Sequence[bytes]]


@dataclass(frozen=True)
class Get:
    """A GET of the spec's path (with its query string) with these headers, the same every time."""

    headers: tuple[tuple[str, str], ...] = ()


Bodies = Fixed | Unique | PerConnection | Get


@dataclass(frozen=True)
class LoadSpec:
    path: str
    bodies: Bodies
    # Count answers that are not a clean success (`"errors"` or a non-empty `userErrors`). Costs
    # the generator a look at every body, so it is left off for the fast fixed-body loads, whose
    # answer is checked once before they run.
    check_answers: bool = False

    @property
    def connections(self) -> int:
        if isinstance(self.bodies, PerConnection):
            return len(self.bodies.sequences)
        return CONNECTIONS


def next_nonce_start() -> int:
    return next(_nonce_blocks) * NONCE_BLOCK


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    generator_cpu_seconds: float
    failures: int  # non-2xx answers, socket errors and timeouts
    bad_answers: int | None  # None when answers were not checked

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def generator_cpu(self) -> float:
        """The share of one core the generator used."""
        return self.generator_cpu_seconds / self.seconds


def median_result(results: Sequence[LoadResult]) -> LoadResult:
    """Medians of the rounds' rates and percentiles; failures and bad answers summed; the most CPU."""
    seconds = sum(r.seconds for r in results)
    rate = statistics.median(r.requests_per_second for r in results)
    cpu = max(r.generator_cpu for r in results)
    bad = [r.bad_answers for r in results if r.bad_answers is not None]
    return LoadResult(
        requests=round(rate * seconds),
        seconds=seconds,
        p50_ms=statistics.median(r.p50_ms for r in results),
        p90_ms=statistics.median(r.p90_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        generator_cpu_seconds=cpu * seconds,
        failures=sum(r.failures for r in results),
        bad_answers=sum(bad) if bad else None,
    )


class Generator(Protocol):
    name: str

    def run(self, url: str, spec: LoadSpec, seconds: float) -> LoadResult: ...


def choose_generator(preference: str, log: Callable[[str], None]) -> Generator:
    """wrk (installed with apt-get when missing), else the benchmark's own asyncio generator."""
    from bench import pyload, wrk

    if preference == "wrk" or preference == "auto":
        found = wrk.ensure_wrk(log)
        if found:
            return wrk.Wrk(found)
        if preference == "wrk":
            raise SystemExit("wrk is not installed and `apt-get install -y wrk` did not work")
        log(
            "wrk cannot be installed: falling back to the benchmark's own asyncio generator (bench/pyload.py)"
        )
    return pyload.PyLoad()
