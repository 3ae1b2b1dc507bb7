"""CPU time per request of the server (and its PostgreSQL) under workloads 1-3, for A/B comparisons.

On a shared machine req/s follows the load; the server's own CPU time per request moves much
less. This starts the server as the benchmark does, runs wrk (32 connections) for each chosen
read and prints req/s, p50, and the CPU seconds the uvicorn process and its PostgreSQL used per
request (from /proc, via psutil), with the load average. Run it from each checkout in turn,
interleaved, with the same arguments:

    .venv/bin/python -m bench.cpu_per_request --seconds 5 --rounds 2 --reads 1u,2u,3u,1c --ceiling

`1u` is workload 1 with unique bodies (cache misses), `1c` as sent (cache hits); `--ceiling`
also measures ceiling (a) on the same database.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import httpx
import psutil

from bench import graphql, pgstats, workloads
from bench.loadgen import Fixed, LoadSpec, Unique
from bench.processes import GENERATOR_CPU, app_server, ceiling_server, pin
from bench.reads import reads
from bench.wrk import Wrk, ensure_wrk


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--reads", default="1u,2u,3u,1c")
    parser.add_argument("--ceiling", action="store_true")
    options = parser.parse_args()
    found = ensure_wrk(print)
    if not found:
        raise SystemExit("needs wrk")
    wrk = Wrk(found)
    pin(os.getpid(), {GENERATOR_CPU})
    with tempfile.TemporaryDirectory() as folder:
        with app_server(Path(folder) / "data", Path(folder) / "server.log") as server:
            client = httpx.Client(base_url=server.url, timeout=30)
            first = graphql.call(client, "{ products(first: 1) { edges { node { slug } } } }")
            chosen = reads(first["products"]["edges"][0]["node"]["slug"])

            def measure(label: str, url: str, spec: LoadSpec, pid: int, with_pg: bool) -> None:
                wrk.run(url, spec, 2.0)  # warm-up: the pool's connections opened, statements prepared
                processes = [psutil.Process(pid)]
                before, pg_before = _cpu(processes), _cpu(server.postgres.processes()) if with_pg else 0.0
                result = wrk.run(url, spec, options.seconds)
                # (PostgreSQL backends that exit meanwhile are left out: the pool keeps them open)
                used = _cpu(processes) - before
                pg_used = _cpu(server.postgres.processes()) - pg_before if with_pg else 0.0
                per = 1000 / max(result.requests, 1)
                print(
                    f"{label:14} {result.requests_per_second:7.0f} req/s  p50 {result.p50_ms:7.2f} ms"
                    f"  server {used * per:6.3f} ms/req"
                    + (f"  PostgreSQL {pg_used * per:6.3f} ms/req" if with_pg else "")
                    + f"  failures {result.failures}  load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )

            for _ in range(options.rounds):
                for key in options.reads.split(","):
                    read = chosen[int(key[0]) - 1]
                    if key[1:] == "u":
                        bodies: Fixed | Unique = Unique(
                            workloads.nonce_template(read.query, **read.variables)
                        )
                    else:
                        bodies = Fixed(workloads.body(read.query, **read.variables))
                    measure(key, server.url, LoadSpec("/graphql", bodies), server.process.pid, True)
            if options.ceiling:
                page = workloads.body(workloads.CATALOG_PAGE)
                arguments = [
                    "catalog",
                    "--dsn",
                    server.postgres.dsn(pgstats.APP_DATABASE),
                    "--currency",
                    "USD",
                ]
                with ceiling_server(arguments, page) as (url, process):
                    spec = LoadSpec("/graphql", Unique(workloads.nonce_template(workloads.CATALOG_PAGE)))
                    for _ in range(options.rounds):
                        measure("ceiling (a) 1u", url, spec, process.pid, False)


if __name__ == "__main__":
    main()
