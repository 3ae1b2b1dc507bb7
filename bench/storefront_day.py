"""Workload 6, "a storefront's day": 32 shoppers browsing while orders flow at 20 per second.

Each of the 32 connections sends its own sequence of catalog reads, drawn (with a fixed seed)
from a realistic mix, as a storefront sends them (no nonce: repeated reads can be cache hits):
the front page, category pages in three sorts and their second pages, product pages (a few
popular, then a long tail) and searches (common words, misspellings), more popular ones far
more often (Zipf, s = 1.1). The pool is larger than the default cache (CATALOG_CACHE_SIZE 256).

The row runs twice: without orders (the pure cached throughput of this mix), then with a
separate flow of checkouts at ORDERS_PER_SECOND, each paid at once in the sandbox: a cart
(`cartLinesAdd`), `checkoutCreate` (a reservation: a write to product_variants) and the
sandbox's pay (the payment webhook: a stock decrement), each buyer from its own address. The
ordered variants are on products the shoppers look at. Cache hit ratio: 1 - catalog reads
that reached PostgreSQL (pg_stat_statements) / catalog requests, over one extra round.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import graphql, pgstats, workloads
from bench.checkout import buyer_address
from bench.loadgen import CONNECTIONS, LoadSpec, PerConnection
from bench.measure import Measured, Measurer
from bench.processes import AppServer
from bench.report import Row

NAME = "6. a storefront's day (browsing mix"
ORDERS_PER_SECOND = 20
SEQUENCE = 400  # reads per connection, cycled
ORDER_VARIANTS = 40
ZIPF = 1.1
SEARCHES = ("wireless", "speaker", "blutooth speakr", "cotton shirt", "running shoes", "lamp",
            "coffee", "novel", "garden hose", "dog bed", "yoga mat", "tent", "headphones", "desk",
            "sofa", "moisturiser", "kettle", "jacket", "backpack", "camera")  # fmt: skip
LIST_FIELDS = (
    "id name slug images { url alt } priceRange { min { amount currency } max { amount currency } } inStock"
)
# Catalog reads are counted by the price summary columns every product read selects.
# A catalog read reaching PostgreSQL: the page or product statement returning columns, or the
# same statement returning each product's JSON (models.product_json: the column `node_json`).
CATALOG_READS = ("%products.min_price, products.max_price, products.in_stock%", "%AS node_json%")


def _list(arguments: str) -> str:
    return f"{{ products(first: 20, {arguments}) {{ edges {{ cursor node {{ {LIST_FIELDS} }} }} }} }}"


def pool(client: httpx.Client) -> list[bytes]:
    """The distinct reads, most popular first."""
    categories = [c["slug"] for c in graphql.call(client, "{ categories { slug } }")["categories"]]
    front = workloads.body(_list("sort: NEWEST"))
    bodies = [front]
    for sort in ("NEWEST", "PRICE_ASC", "NAME"):
        for slug in categories:
            query = _list(f'filter: {{categorySlug: "{slug}"}}, sort: {sort}')
            bodies.append(workloads.body(query))
            edges = graphql.call(client, query)["products"]["edges"]
            if edges:
                bodies.append(workloads.body(_list(f'filter: {{categorySlug: "{slug}"}}, sort: {sort},'
                                                   f' after: "{edges[-1]["cursor"]}"')))  # fmt: skip
    products = graphql.call(client, "{ products(first: 100) { edges { node { slug } } } }")
    slugs = [edge["node"]["slug"] for edge in products["products"]["edges"]]
    more = graphql.call(client, "{ products(first: 100, sort: NAME) { edges { node { slug } } } }")
    slugs += [edge["node"]["slug"] for edge in more["products"]["edges"]]
    searches = [workloads.body(_list(f'filter: {{search: "{term}"}}')) for term in SEARCHES]
    products_bodies = [workloads.body(workloads.PRODUCT, slug=slug) for slug in dict.fromkeys(slugs)]
    # Interleaved, so that every kind has popular and long-tail members.
    mixed: list[bytes] = []
    lists = [bodies, products_bodies, searches]
    while any(lists):
        for kind in lists:
            if kind:
                mixed.append(kind.pop(0))
    return mixed


def sequences(reads: list[bytes], seed: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** ZIPF for rank in range(len(reads))]
    return [rng.choices(reads, weights, k=SEQUENCE) for _ in range(CONNECTIONS)]


def order_variants(app_dsn: str) -> list[str]:
    """Variants of the newest products (those the shoppers see most), with stock no run exhausts."""
    rows = pgstats.fetch(
        app_dsn,
        "UPDATE product_variants SET stock = 10000000 WHERE id IN (SELECT v.id FROM product_variants v"
        " JOIN products p ON p.id = v.product_id WHERE p.is_active"
        " ORDER BY p.created_at DESC, v.id LIMIT $1) RETURNING id",
        ORDER_VARIANTS,
    )
    return [workloads.global_id("ProductVariant", row["id"]) for row in rows]


def paid_order(client: httpx.Client, variant: str, buyer: int, email: str) -> None:
    """One order as the flow places it, from the buyer's own address: a cart holding the variant,
    `checkoutCreate`, and the sandbox's pay (the signed payment webhook)."""
    headers = {"X-Forwarded-For": buyer_address(buyer)}
    cart = graphql.new_cart(client, variant, headers)
    body = workloads.body(workloads.CHECKOUT, cartToken=cart, email=email)
    created = graphql.payload(graphql.post(client, body, headers), "checkoutCreate")
    paid = client.post(urlsplit(created["checkoutUrl"]).path + "/pay", headers=headers)
    if paid.status_code not in (200, 303):
        raise RuntimeError(f"pay: {paid.status_code}")


class OrderFlow:
    """Checkouts started at a steady rate from a thread pool, each paid at once (sandbox)."""

    def __init__(self, url: str, variants: list[str]) -> None:
        self.url = url
        self.variants = variants
        self.stop = threading.Event()
        self.paid = 0
        self.failed = 0
        self.started = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._buyer = 100_000
        self.first_error = ""

    def __enter__(self) -> OrderFlow:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = 1 / ORDERS_PER_SECOND
        with httpx.Client(base_url=self.url, timeout=30) as client:
            pool = ThreadPoolExecutor(max_workers=32)
            next_at = time.monotonic()
            while not self.stop.is_set():
                self._buyer += 1
                pool.submit(self._order, client, self._buyer)
                next_at += interval
                self.stop.wait(max(0.0, next_at - time.monotonic()))
            pool.shutdown(wait=True, cancel_futures=True)  # orders not begun yet are not counted

    def _order(self, client: httpx.Client, buyer: int) -> None:
        with self._lock:
            self.started += 1
        try:
            paid_order(client, self.variants[buyer % len(self.variants)], buyer, f"day{buyer}@example.com")
            with self._lock:
                self.paid += 1
        except Exception as error:
            with self._lock:
                self.failed += 1
                self.first_error = self.first_error or f"{type(error).__name__}: {str(error)[:200]}"


def _catalog_reads(stats_dsn: str) -> int:
    rows = pgstats.fetch(
        stats_dsn,
        "SELECT coalesce(sum(s.calls), 0)::bigint AS calls FROM pg_stat_statements s"
        " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 AND s.query LIKE ANY($2::text[])",
        pgstats.APP_DATABASE,
        list(CATALOG_READS),
    )
    return int(rows[0]["calls"])


def _hit_ratio(server: AppServer, measurer: Measurer, spec: LoadSpec) -> tuple[float, int]:
    stats_dsn = server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE)
    before = _catalog_reads(stats_dsn)
    result = measurer.generator.run(server.url, spec, measurer.plan.duration)
    misses = _catalog_reads(stats_dsn) - before
    return max(0.0, 1 - misses / max(result.requests, 1)), result.requests


def run_storefront_day(
    server: AppServer, client: httpx.Client, measurer: Measurer, apart: bool = False
) -> list[Row]:
    """The day without orders, then with them. `apart`: the server's jobs run in a worker of their
    own (bench.processes.app_server's "separate"), said in the rows' names."""
    topology = "; job worker apart" if apart else ""
    app_dsn = server.postgres.dsn(pgstats.APP_DATABASE, pgstats.BENCH_ROLE)
    variants = order_variants(app_dsn)
    reads = pool(client)
    spec = LoadSpec("/graphql", PerConnection(sequences(reads, seed=18)), check_answers=True)
    measurer.log(f"{NAME}, {len(reads)} distinct reads): without orders")
    pure = measurer.measure(server.url, lambda: spec, server.process.pid)
    pure_hits, _ = _hit_ratio(server, measurer, spec)
    measurer.log(f"{NAME}): with {ORDERS_PER_SECOND} checkouts/s, each paid")
    with OrderFlow(server.url, variants) as flow:
        started = time.monotonic()
        day = measurer.measure(server.url, lambda: spec, server.process.pid)
        day_hits, _ = _hit_ratio(server, measurer, spec)
        seconds = time.monotonic() - started
    ratio = day.load.requests_per_second / max(pure.load.requests_per_second, 1)
    return [
        _row(
            f"{NAME}, no orders{topology})",
            pure,
            f"cache hit ratio {pure_hits:.1%}; {len(reads)} distinct reads",
            apart=apart,
        ),
        _row(
            f"{NAME} + {ORDERS_PER_SECOND} checkouts/s paid{topology})",
            day,
            f"cache hit ratio {day_hits:.1%}; {ratio:.0%} of the row above;"
            f" orders: {flow.paid / seconds:.1f} paid/s ({flow.paid} paid, {flow.failed} failed,"
            f" {flow.started} started{'; first failure: ' + flow.first_error if flow.first_error else ''})",
            failed=flow.failed > flow.started // 10,
            apart=apart,
        ),
    ]


def _row(name: str, measured: Measured, note: str, failed: bool = False, apart: bool = False) -> Row:
    return Row(name, measured, "", note, failed=failed, job_worker_apart=apart)
