"""The fallback load generator, for machines where wrk cannot be installed: asyncio on uvloop,
raw HTTP/1.1 keep-alive connections (bench/rawhttp.py), closed loop like wrk.

It runs in the benchmark's own process, which is pinned to the generator's core; its CPU time is
that process's over the run. It is slower than wrk: its CPU column shows when it is the bottleneck.
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import uvloop

from bench.loadgen import Fixed, LoadResult, LoadSpec, PerConnection, Unique, next_nonce_start
from bench.rawhttp import Connection, post_request
from bench.workloads import with_nonce


def _requests(
    spec: LoadSpec, host: str, port: int, connection: int, counter: Iterator[int]
) -> Iterator[bytes]:
    bodies = spec.bodies
    if isinstance(bodies, Fixed):
        return itertools.repeat(post_request(host, port, spec.path, bodies.body))
    if isinstance(bodies, Unique):
        return (post_request(host, port, spec.path, with_nonce(bodies.template, n)) for n in counter)
    if not isinstance(bodies, PerConnection):
        raise NotImplementedError("the Python load generator sends POSTs only: install wrk for GET loads")
    sequence = bodies.sequences[connection]
    return itertools.cycle([post_request(host, port, spec.path, body) for body in sequence])


async def _load(url: str, spec: LoadSpec, seconds: float) -> tuple[list[float], int, int, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    counter = itertools.count(next_nonce_start())
    latencies: list[float] = []
    failures = 0
    bad = 0
    check = spec.check_answers or isinstance(spec.bodies, PerConnection)
    connections = [await Connection.open(host, port) for _ in range(spec.connections)]
    started = time.perf_counter()
    deadline = started + seconds

    async def drive(index: int) -> None:
        nonlocal failures, bad
        connection = connections[index]
        for request in _requests(spec, host, port, index, counter):
            sent = time.perf_counter()
            if sent >= deadline:
                return
            try:
                answer = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError):
                failures += 1
                return
            latencies.append(time.perf_counter() - sent)
            if answer.status != 200:
                failures += 1
            elif check and (b'"errors"' in answer.body or b'"userErrors":[{' in answer.body):
                bad += 1

    await asyncio.gather(*(drive(index) for index in range(len(connections))))
    elapsed = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    return latencies, failures, bad if check else -1, elapsed


class PyLoad:
    name = "asyncio generator (bench/pyload.py)"

    def run(self, url: str, spec: LoadSpec, seconds: float) -> LoadResult:
        before = resource.getrusage(resource.RUSAGE_SELF)
        latencies, failures, bad, elapsed = uvloop.run(_load(url, spec, seconds))
        after = resource.getrusage(resource.RUSAGE_SELF)
        latencies.sort()

        def percentile(share: float) -> float:
            if not latencies:
                return float("nan")
            return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

        return LoadResult(
            requests=len(latencies),
            seconds=elapsed,
            p50_ms=percentile(0.50),
            p90_ms=percentile(0.90),
            p99_ms=percentile(0.99),
            generator_cpu_seconds=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            failures=failures,
            bad_answers=None if bad < 0 else bad,
        )
