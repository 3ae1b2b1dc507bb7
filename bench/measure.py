"""One workload under load: a warm-up, then several rounds; medians, CPU shares and peak RSS."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench import pgstats
from bench.loadgen import Generator, LoadResult, LoadSpec, median_result
from bench.monitor import Monitor, Usage
from bench.processes import Postgres


@dataclass(frozen=True)
class Plan:
    duration: float  # seconds per round
    rounds: int
    warmup: float
    statement_requests: int  # sequential requests over which statements are counted
    buyers: int
    units: int
    checkout_rounds: int


@dataclass(frozen=True)
class Measured:
    load: LoadResult
    usage: Usage


def mean_usage(usages: list[Usage]) -> Usage:
    return Usage(
        server=statistics.fmean(u.server for u in usages),
        postgres=statistics.fmean(u.postgres for u in usages),
        generator=statistics.fmean(u.generator for u in usages),
        other=statistics.fmean(u.other for u in usages),
        peak_rss=max(u.peak_rss for u in usages),
        sessions_per_second=statistics.fmean(u.sessions_per_second for u in usages),
        worker=statistics.fmean(u.worker for u in usages),
    )


class Measurer:
    def __init__(
        self,
        generator: Generator,
        plan: Plan,
        log: Callable[[str], None],
        postgres: Postgres,
        worker_pid: int | None = None,
    ) -> None:
        self.generator = generator
        self.plan = plan
        self.log = log
        self.postgres = postgres
        self.worker_pid = worker_pid  # the separate job worker's process, if the server has one
        self.in_process = generator.name != "wrk"

    def monitor(self, server_pid: int) -> Monitor:
        return Monitor(server_pid, self.postgres.processes, self._sessions, self.worker_pid)

    def _sessions(self) -> int:
        return pgstats.sessions(self.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE))

    def measure(self, url: str, spec: Callable[[], LoadSpec], server_pid: int) -> Measured:
        """`spec` is called before every run (warm-up included), for loads that need fresh state."""
        monitor = self.monitor(server_pid)
        warmup = spec()
        with monitor:
            self.generator.run(url, warmup, self.plan.warmup)
        warmup_peak = monitor.peak_rss
        results: list[LoadResult] = []
        usages: list[Usage] = []
        for number in range(self.plan.rounds):
            load = spec()
            with monitor:
                result = self.generator.run(url, load, self.plan.duration)
                usages.append(monitor.usage(result.generator_cpu_seconds, self.in_process))
            results.append(result)
            self.log(
                f"    round {number + 1}: {result.requests_per_second:,.0f} req/s,"
                f" p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms,"
                f" generator {result.generator_cpu:.0%}, other {usages[-1].other:.0%}"
            )
        usage = mean_usage(usages)
        usage = dataclasses.replace(usage, peak_rss=max(usage.peak_rss, warmup_peak))
        return Measured(load=median_result(results), usage=usage)
