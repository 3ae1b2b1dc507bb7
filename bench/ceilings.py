"""The ceilings, on the same machine: (a) a hand-written endpoint for workload 1, (b) a hello-world."""

from __future__ import annotations

import httpx

from bench import pgstats, workloads
from bench.graphql import JSON
from bench.loadgen import Fixed, LoadSpec
from bench.measure import Measurer
from bench.processes import AppServer, ceiling_server
from bench.report import Row

HAND_WRITTEN = "ceiling (a): hand-written Starlette + asyncpg, workload 1"
HELLO = "ceiling (b): bare ASGI hello-world"


def run_hand_written(server: AppServer, currency: str, measurer: Measurer) -> tuple[Row, str]:
    """The row, and whether its answer has the same bytes as the server's (a line for the report)."""
    page = workloads.body(workloads.CATALOG_PAGE)
    stats_dsn = server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE)
    # It connects as the server does (role postgres), so its statements are counted like the server's.
    arguments = ["catalog", "--dsn", server.postgres.dsn(pgstats.APP_DATABASE), "--currency", currency]
    measurer.log(HAND_WRITTEN)
    with ceiling_server(arguments, page) as (url, process), httpx.Client(base_url=url, timeout=60) as client:
        theirs = client.post("/graphql", content=page, headers=JSON).content
        ours = httpx.post(server.url + "/graphql", content=page, headers=JSON).content
        if theirs == ours:
            same = f"Ceiling (a) answers workload 1 with the same {len(ours):,} JSON bytes as the server."
        else:
            same = f"Ceiling (a)'s answer DIFFERS from the server's ({len(theirs):,} vs {len(ours):,} bytes)."
        measured = measurer.measure(url, lambda: LoadSpec("/graphql", Fixed(page)), process.pid)
        count = pgstats.count_statements(
            stats_dsn,
            lambda n: client.post("/graphql", content=page, headers=JSON),
            measurer.plan.statement_requests,
        )
    note = "same JSON bytes as workload 1" if theirs == ours else "JSON DIFFERS from workload 1"
    row = Row(
        HAND_WRITTEN, measured, count.label(), note, failed=theirs != ours, counts=[("per request", count)]
    )
    return row, same


def run_hello(server: AppServer, measurer: Measurer) -> Row:
    page = workloads.body(workloads.CATALOG_PAGE)
    measurer.log(HELLO)
    with ceiling_server(["hello"], page) as (url, process):
        measured = measurer.measure(url, lambda: LoadSpec("/graphql", Fixed(page)), process.pid)
    return Row(HELLO, measured, "0", "same request body as workload 1")
