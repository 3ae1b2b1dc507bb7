"""Workloads 1-3, the catalog reads, each twice: as a storefront sends it, and made unique per request.

The server keeps answers of catalog-only queries in a per-process cache keyed by the query text
and variables. A storefront repeating the same body gets cached answers; a `nonce` variable no
operation declares (GraphQL ignores it) makes every body new, so each request executes in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench import graphql, pgstats, workloads
from bench.loadgen import Fixed, LoadSpec, Unique, next_nonce_start
from bench.measure import Measurer
from bench.processes import AppServer
from bench.report import Row


@dataclass(frozen=True)
class Read:
    name: str
    query: str
    variables: dict[str, Any]
    check: Callable[[dict[str, Any]], str | None]  # what is wrong with an answer's data, if anything


def _page_of(count: int) -> Callable[[dict[str, Any]], str | None]:
    def check(data: dict[str, Any]) -> str | None:
        edges = data["products"]["edges"]
        if len(edges) != count or not all(edge["node"]["variants"] for edge in edges):
            return f"expected {count} products with variants, got {len(edges)}"
        return None

    return check


def _found_speakers(data: dict[str, Any]) -> str | None:
    names = [edge["node"]["name"] for edge in data["products"]["edges"]]
    if not names or not any("speaker" in name.lower() for name in names):
        return f"the misspelt search found no speaker: {names[:5]}"
    return None


def _product(data: dict[str, Any]) -> str | None:
    return None if data["product"] and data["product"]["variants"] else "no product with variants"


def reads(slug: str) -> list[Read]:
    return [
        Read("1. catalog page, 20 products", workloads.CATALOG_PAGE, {}, _page_of(20)),
        Read("2. product(slug) with variants", workloads.PRODUCT, {"slug": slug}, _product),
        Read('3. search "blutooth speakr", 20 products', workloads.SEARCH_PAGE, {}, _found_speakers),
    ]


def run_read(read: Read, server: AppServer, client: httpx.Client, measurer: Measurer) -> list[Row]:
    """The two rows of one read: repeated body (cache hits), then unique bodies (cache misses)."""
    stats_dsn = server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE)
    fixed = workloads.body(read.query, **read.variables)
    template = workloads.nonce_template(read.query, **read.variables)
    rows = []
    for label, spec, sender in (
        ("as sent, cached", LoadSpec("/graphql", Fixed(fixed)), lambda n: fixed),
        (
            "unique, cache miss",
            LoadSpec("/graphql", Unique(template), check_answers=True),
            _unique_bodies(template),
        ),
    ):
        name = f"{read.name} ({label})"
        measurer.log(f"{name}")
        problem = read.check(graphql.post(client, sender(-1)))
        if problem:
            rows.append(Row(name, note=f"failed: {problem}", failed=True))
            continue
        measured = measurer.measure(server.url, lambda spec=spec: spec, server.process.pid)
        count = pgstats.count_statements(
            stats_dsn,
            lambda n, sender=sender: graphql.post(client, sender(n)),
            measurer.plan.statement_requests,
        )
        measurer.log(f"    SQL per request: {count.label()}")
        rows.append(Row(name, measured, count.label(), counts=[("per request", count)]))
    return rows


def _unique_bodies(template: bytes) -> Callable[[int], bytes]:
    start = next_nonce_start()
    return lambda n: workloads.with_nonce(template, start + n + 1)
