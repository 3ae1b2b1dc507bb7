"""Workload 4, the cart round trip: `cartLinesAdd` on an existing cart, then `cart(token)`.

Every connection is one shopper with a cart of its own, created before each run, and sends
add, read, add, read, ... (each request after the previous answer), adding one unit of one of
LINES_PER_CART variants in turn: carts hold a few lines, as real ones do, and stay far from
the per-line maximum of 99 however long a run lasts. The variants get ample stock first.
"""

from __future__ import annotations

import httpx

from bench import graphql, pgstats, workloads
from bench.loadgen import CONNECTIONS, LoadSpec, PerConnection
from bench.measure import Measurer
from bench.processes import AppServer
from bench.report import Row

LINES_PER_CART = 5
VARIANTS = 40
NAME = "4. cart round trip (add, then read)"


def stock_variants(app_dsn: str) -> list[str]:
    """Global ids of VARIANTS variants of active products, given stock no run can exhaust."""
    rows = pgstats.fetch(
        app_dsn,
        "UPDATE product_variants SET stock = 10000000 WHERE id IN (SELECT v.id FROM product_variants v"
        " JOIN products p ON p.id = v.product_id WHERE p.is_active ORDER BY v.id LIMIT $1) RETURNING id",
        VARIANTS,
    )
    return [
        workloads.global_id("ProductVariant", row["id"]) for row in sorted(rows, key=lambda row: row["id"])
    ]


def new_cart(client: httpx.Client, variant: str, shopper: int = 0) -> str:
    """Started from the shopper's own address (new carts are rate limited per client address)."""
    return graphql.new_cart(client, variant, {"X-Forwarded-For": f"10.250.{shopper % 250 + 1}.9"})


def round_trips(client: httpx.Client, variants: list[str]) -> LoadSpec:
    """Fresh carts, one per connection, and each connection's add/read sequence."""
    sequences = []
    for shopper in range(CONNECTIONS):
        mine = [variants[(shopper + line) % len(variants)] for line in range(LINES_PER_CART)]
        token = new_cart(client, mine[0], shopper)
        read = workloads.body(workloads.CART_READ, token=token)
        sequence = []
        for variant in mine:
            sequence += [workloads.body(workloads.CART_ADD, cartToken=token, variantId=variant), read]
        sequences.append(sequence)
    return LoadSpec("/graphql", PerConnection(sequences), check_answers=True)


def run_cart(server: AppServer, client: httpx.Client, measurer: Measurer) -> Row:
    app_dsn = server.postgres.dsn(pgstats.APP_DATABASE, pgstats.BENCH_ROLE)
    stats_dsn = server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE)
    variants = stock_variants(app_dsn)
    measurer.log(NAME)
    measured = measurer.measure(server.url, lambda: round_trips(client, variants), server.process.pid)
    token = new_cart(client, variants[0])
    requests = measurer.plan.statement_requests

    def add(number: int) -> None:
        variant = variants[number % LINES_PER_CART]
        data = graphql.call(client, workloads.CART_ADD, cartToken=token, variantId=variant)
        graphql.payload(data, "cartLinesAdd")

    added = pgstats.count_statements(stats_dsn, add, requests)
    read = pgstats.count_statements(
        stats_dsn, lambda n: graphql.call(client, workloads.CART_READ, token=token), requests
    )
    measurer.log(f"    SQL per add: {added.label()}, per read: {read.label()}")
    rate = measured.load.requests_per_second / 2
    return Row(
        NAME,
        measured,
        f"{added.label()} + {read.label()}",
        f"{rate:,.0f} round trips/s (req/s counts both requests; latency is per request);"
        f" {CONNECTIONS} shoppers, carts of {LINES_PER_CART} lines",
        counts=[("cartLinesAdd", added), ("cart(token)", read)],
    )
