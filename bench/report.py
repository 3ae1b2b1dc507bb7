"""The benchmark's table (markdown), the machine it ran on, and bench/last-run.md."""

from __future__ import annotations

import datetime
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Measured, Plan
from bench.pgstats import StatementCount

HEADER = (
    "| workload | req/s | p50 ms | p90 ms | p99 ms | SQL/request | peak RSS MB"
    " | CPU % server/PG/gen/other | vs (a) | vs (b) | note |"
)


@dataclass
class Row:
    name: str
    measured: Measured | None = None
    statements: str = ""
    note: str = ""
    failed: bool = False
    # The statements behind `statements`, one by one, under a label each.
    counts: list[tuple[str, StatementCount]] = field(default_factory=list)
    job_worker_apart: bool = False  # measured with the job worker apart, whatever the report's topology


_JOB_WORKER = {
    "in-process": "Background jobs (e-mail) run inside the server process (`RUN_WORKER` on, the demo's way).",
    "separate": "Background jobs (e-mail) run in a process of their own, as deployed (`RUN_WORKER=off`"
    " `python main.py serve` and `python main.py worker`), pinned to CPU 1 with the generator; its CPU"
    " share is shown as `+wN`.",
}


@dataclass
class Report:
    plan: Plan
    generator: str
    postgres_version: str
    job_worker: str = "in-process"  # where the server's background jobs run (`--job-worker`)
    rows: list[Row] = field(default_factory=list)
    hand_written: Row | None = None
    hello: Row | None = None
    details: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A row failed, or some request did: failed requests and answers with errors make numbers wrong."""
        return any(
            row.failed
            or (
                row.measured is not None and bool(row.measured.load.failures or row.measured.load.bad_answers)
            )
            for row in self.all_rows()
        )

    def all_rows(self) -> list[Row]:
        return [*self.rows, *(row for row in (self.hand_written, self.hello) if row is not None)]

    def table(self) -> str:
        lines = [HEADER, "|" + " --- |" * HEADER.count(" | ") + " --- |"]
        lines += [self._line(row) for row in self.all_rows()]
        return "\n".join(lines)

    def _ratio(self, row: Row, ceiling: Row | None) -> str:
        if row.measured is None or ceiling is None or ceiling.measured is None:
            return ""
        return f"{row.measured.load.requests_per_second / ceiling.measured.load.requests_per_second:.3g}"

    def _line(self, row: Row) -> str:
        if row.measured is None:
            cells = [row.name, "", "", "", "", row.statements, "", "", "", "", row.note]
            return "| " + " | ".join(cells) + " |"
        load, usage = row.measured.load, row.measured.usage
        problems = []
        if load.failures:
            problems.append(f"{load.failures} failed requests")
        if load.bad_answers:
            problems.append(f"{load.bad_answers} answers with errors")
        opened = usage.sessions_per_second / load.requests_per_second if load.requests else 0.0
        if opened >= 0.01:
            problems.append(f"{opened:.2f} new PostgreSQL connections per request")
        note = "; ".join(filter(None, [row.note, *problems]))
        cpu = "/".join(
            f"{share * 100:.0f}" for share in (usage.server, usage.postgres, usage.generator, usage.other)
        ) + (f" +w{usage.worker * 100:.0f}" if self.job_worker == "separate" or row.job_worker_apart else "")
        cells = [
            row.name,
            f"{load.requests_per_second:,.0f}",
            _ms(load.p50_ms),
            _ms(load.p90_ms),
            _ms(load.p99_ms),
            row.statements,
            f"{usage.peak_rss / 2**20:.0f}",
            cpu,
            "1" if row is self.hand_written else self._ratio(row, self.hand_written),
            "1" if row is self.hello else self._ratio(row, self.hello),
            note,
        ]
        return "| " + " | ".join(cells) + " |"

    def markdown(self) -> str:
        plan = self.plan
        head = [
            f"Run on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `scripts/bench`.",
            "",
            f"Machine: {machine()}; PostgreSQL {self.postgres_version} (embedded).",
            "",
            f"Method: {plan.rounds} round(s) of {plan.duration:g} s after a {plan.warmup:g} s warm-up,"
            f" medians; load generator: {self.generator}, 32 keep-alive connections; server:"
            " `python main.py serve`, one worker, its Python process pinned to CPU 0, its PostgreSQL"
            f" unpinned; generator on CPU 1. {_JOB_WORKER[self.job_worker]} SQL/request: pg_stat_statements over"
            f" {plan.statement_requests} sequential requests, transaction control left out (shown as"
            " `+N tx`). CPU %: shares of one core during the rounds (`other`: every other process on"
            " the machine). Ratios: req/s over the ceiling's req/s.",
            "",
        ]
        return "\n".join([*head, self.table(), "", *self.details]).rstrip() + "\n"

    def write(self, path: Path) -> None:
        path.write_text(self.markdown())


def _ms(value: float) -> str:
    if math.isnan(value):
        return ""
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    wrk = subprocess.run(["sh", "-c", "wrk -v 2>&1 | head -1"], capture_output=True, text=True).stdout.strip()
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()},"
        f" Python {platform.python_version()}" + (f", {wrk.split(' Copyright')[0]}" if wrk else "")
    )
