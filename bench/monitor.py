"""What the machine did during a run: the server's peak RSS, and where the CPU time went.

CPU is split into the server (the uvicorn process), its PostgreSQL (the postmaster and its
children), the load generator, and everything else on the machine (`other`): the machine is
shared, so a run during which other processes were busy can be recognised and repeated.
Also counted: the connections opened to the application's database (pg_stat_database.sessions).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_INTERVAL = 0.05


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU time of each process, with that of its children it has reaped: the time of a PostgreSQL
    backend that exits during a run moves into the postmaster's, and is not lost."""
    times: dict[int, float] = {}
    for process in processes:
        try:
            cpu = process.cpu_times()
            times[process.pid] = cpu.user + cpu.system + cpu.children_user + cpu.children_system
        except psutil.Error:
            pass
    return times


@dataclass(frozen=True)
class Usage:
    """Shares of one core over a run, and the server's peak RSS in bytes."""

    server: float
    postgres: float
    generator: float
    other: float
    peak_rss: int
    sessions_per_second: float  # connections opened to the application's database
    worker: float = 0.0  # the job worker process (`--job-worker separate`), not counted in `other`


class Monitor:
    """Samples the server's RSS in a thread while a run lasts; accounts CPU at start and end."""

    def __init__(
        self,
        server_pid: int,
        postgres: Callable[[], list[psutil.Process]],
        sessions: Callable[[], int],
        worker_pid: int | None = None,
    ) -> None:
        self.server = psutil.Process(server_pid)
        self.worker = psutil.Process(worker_pid) if worker_pid is not None else None
        self.postgres = postgres
        self.sessions = sessions
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, self.server.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(SAMPLE_INTERVAL)

    def __enter__(self) -> Monitor:
        self.peak_rss = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._started = time.monotonic()
        self._busy = machine_busy_seconds()
        self._server_cpu = cpu_seconds([self.server]).get(self.server.pid, 0.0)
        self._worker_cpu = self._worker_seconds()
        self._postgres_cpu = cpu_seconds(self.postgres())
        self._self_cpu = _own_cpu()
        self._sessions = self.sessions()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def usage(self, generator_cpu_seconds: float, generator_in_this_process: bool = False) -> Usage:
        """Call after the run, before leaving the `with` block."""
        sessions = self.sessions() - self._sessions
        elapsed = time.monotonic() - self._started
        busy = machine_busy_seconds() - self._busy
        server = cpu_seconds([self.server]).get(self.server.pid, 0.0) - self._server_cpu
        now = cpu_seconds(self.postgres())
        postgres = sum(seconds - self._postgres_cpu.get(pid, 0.0) for pid, seconds in now.items())
        # A backend that exited during the run added its whole lifetime to the postmaster's
        # children time: the part it had used before the run is not the run's.
        postgres -= sum(seconds for pid, seconds in self._postgres_cpu.items() if pid not in now)
        # The benchmark's own process (this one) counts as load generator work, not as `other`.
        own = _own_cpu() - self._self_cpu
        generator = generator_cpu_seconds if generator_in_this_process else generator_cpu_seconds + own
        worker = self._worker_seconds() - self._worker_cpu
        other = max(0.0, busy - server - postgres - generator - worker)
        return Usage(
            server=server / elapsed,
            postgres=postgres / elapsed,
            generator=generator_cpu_seconds / elapsed,
            other=other / elapsed,
            peak_rss=self.peak_rss,
            sessions_per_second=sessions / elapsed,
            worker=worker / elapsed,
        )

    def _worker_seconds(self) -> float:
        return cpu_seconds([self.worker]).get(self.worker.pid, 0.0) if self.worker else 0.0


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system
