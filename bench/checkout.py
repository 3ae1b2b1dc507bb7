"""Workload 5, checkout under contention: many buyers, each with a cart of one unit of the same
variant, for few units, all at once.

Each round uses a variant of its own, set to `units` in stock with nothing reserved. Every buyer
has a connection of its own, opened beforehand; all checkouts are sent at the same moment, each
from its own client address (X-Forwarded-For, which the server trusts from 127.0.0.1 by
default), as distinct buyers would; the per-address checkout rate limit stays on, as deployed.
While they run, a separate connection samples the variant's stock minus reserved. Afterwards the
orders and the stock are read with SQL directly: exactly `units` orders, never less than 0 available.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
import psutil
import uvloop

from bench import graphql, pgstats, workloads
from bench.loadgen import LoadResult
from bench.measure import Measured, Measurer, mean_usage
from bench.monitor import Usage
from bench.processes import AppServer
from bench.profile import py_spy
from bench.rawhttp import Connection, post_request
from bench.report import Row

SAMPLE_INTERVAL = 0.005


@dataclass(frozen=True)
class Round:
    load: LoadResult
    outcomes: Counter[str]  # "order", or the userError code, or "HTTP n"
    orders: int  # orders holding the variant, read with SQL
    stock: int
    reserved: int
    ordered_units: int  # units of the variant in those orders
    lowest_available: int  # lowest stock - reserved seen while the checkouts ran
    samples: int
    statements: pgstats.StatementCount
    server_cpu_ms: float = 0.0  # the server process's CPU time (user + system) over the round

    def verdict(self, units: int) -> str:
        sound = (
            self.orders == units
            and self.reserved == self.ordered_units == units
            and self.stock - self.reserved >= 0
            and self.lowest_available >= 0
        )
        return "nothing oversold" if sound else "OVERSOLD OR LOST"


def pick_variant(app_dsn: str, round_number: int, units: int) -> int:
    """A variant of an active product, one per round, counted from the last; `units` in stock."""
    (row,) = pgstats.fetch(
        app_dsn,
        "UPDATE product_variants SET stock = $2, reserved = 0 WHERE id = (SELECT v.id FROM product_variants v"
        " JOIN products p ON p.id = v.product_id WHERE p.is_active ORDER BY v.id DESC OFFSET $1 LIMIT 1)"
        " RETURNING id",
        round_number,
        units,
    )
    return row["id"]


def buyer_address(buyer: int) -> str:
    return f"10.{buyer // 250 % 250}.{buyer % 250 + 1}.7"


async def _checkout_all(
    url: str, bodies: list[bytes], app_dsn: str, variant: int
) -> tuple[list[float], list[dict[str, Any] | int], float, int, int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [
        post_request(host, port, "/graphql", body, {"X-Forwarded-For": buyer_address(buyer)})
        for buyer, body in enumerate(bodies)
    ]
    connections = await asyncio.gather(*(Connection.open(host, port) for _ in requests))
    sampler = await asyncpg.connect(app_dsn)
    done = asyncio.Event()
    lowest = 1 << 30
    samples = 0

    async def sample() -> None:
        nonlocal lowest, samples
        while not done.is_set():
            available = await sampler.fetchval(
                "SELECT stock - reserved FROM product_variants WHERE id = $1", variant
            )
            lowest, samples = min(lowest, available), samples + 1
            await asyncio.sleep(SAMPLE_INTERVAL)

    async def buy(connection: Connection, request: bytes) -> tuple[float, dict[str, Any] | int]:
        sent = time.perf_counter()
        answer = await connection.send(request)
        latency = time.perf_counter() - sent
        if answer.status != 200:
            return latency, answer.status
        return latency, orjson.loads(answer.body)

    sampling = asyncio.create_task(sample())
    started = time.perf_counter()
    answers = await asyncio.gather(*(buy(c, r) for c, r in zip(connections, requests, strict=True)))
    elapsed = time.perf_counter() - started
    done.set()
    await sampling
    await sampler.close()
    await asyncio.gather(*(connection.close() for connection in connections))
    return [latency for latency, _ in answers], [answer for _, answer in answers], elapsed, lowest, samples


def _outcome(answer: dict[str, Any] | int) -> str:
    if isinstance(answer, int):
        return f"HTTP {answer}"
    if answer.get("errors"):
        return "GraphQL error"
    result = answer["data"]["checkoutCreate"]
    if result["order"]:
        return "order"
    return ",".join(error["code"] for error in result["userErrors"]) or "nothing"


def run_round(
    server: AppServer, client: httpx.Client, measurer: Measurer, number: int, *, warm_up: bool = False
) -> tuple[Round, Usage]:
    plan = measurer.plan
    app_dsn = server.postgres.dsn(pgstats.APP_DATABASE, pgstats.BENCH_ROLE)
    stats_dsn = server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE)
    variant = pick_variant(app_dsn, number, plan.units)
    variant_id = workloads.global_id("ProductVariant", variant)
    carts = [  # each buyer's cart started from the buyer's address (new carts are rate limited per address)
        graphql.new_cart(client, variant_id, {"X-Forwarded-For": buyer_address(buyer)})
        for buyer in range(plan.buyers)
    ]
    bodies = [
        workloads.body(workloads.CHECKOUT, cartToken=cart, email=f"buyer{buyer}@example.com")
        for buyer, cart in enumerate(carts)
    ]
    before = pgstats.settle(stats_dsn)
    server_process = psutil.Process(server.process.pid)
    server_cpu_before = sum(server_process.cpu_times()[:2])
    spy = None if warm_up else _spy(server.process.pid, number)
    with measurer.monitor(server.process.pid) as monitor:
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        latencies, answers, elapsed, lowest, samples = uvloop.run(
            _checkout_all(server.url, bodies, app_dsn, variant)
        )
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        usage = monitor.usage(cpu, generator_in_this_process=True)
    server_cpu = sum(server_process.cpu_times()[:2]) - server_cpu_before
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    statements = pgstats.difference(before, pgstats.settle(stats_dsn), plan.buyers)
    (row,) = pgstats.fetch(
        app_dsn,
        "SELECT v.stock, v.reserved,"
        " (SELECT count(DISTINCT l.order_id) FROM order_lines l WHERE l.variant_id = v.id) AS orders,"
        " (SELECT coalesce(sum(l.quantity), 0) FROM order_lines l WHERE l.variant_id = v.id) AS units"
        " FROM product_variants v WHERE v.id = $1",
        variant,
    )
    ordered = sorted(latencies)
    load = LoadResult(
        requests=len(answers),
        seconds=elapsed,
        p50_ms=_percentile(ordered, 0.50),
        p90_ms=_percentile(ordered, 0.90),
        p99_ms=_percentile(ordered, 0.99),
        generator_cpu_seconds=cpu,
        failures=sum(1 for answer in answers if isinstance(answer, int)),
        bad_answers=None,
    )
    result = Round(
        load=load,
        outcomes=Counter(_outcome(answer) for answer in answers),
        orders=row["orders"],
        stock=row["stock"],
        reserved=row["reserved"],
        ordered_units=row["units"],
        lowest_available=lowest,
        samples=samples,
        statements=statements,
        server_cpu_ms=server_cpu * 1000,
    )
    measurer.log(
        f"    {'warm-up burst (not counted)' if warm_up else f'round {number + 1}'}:"
        f" {load.requests_per_second:,.0f} checkouts/s, p50 {load.p50_ms:.1f} ms;"
        f" {dict(result.outcomes)}; {result.orders} orders, {result.reserved}/{result.stock} reserved,"
        f" lowest available {lowest} in {samples} samples: {result.verdict(plan.units)};"
        f" server CPU {result.server_cpu_ms:.0f} ms ({result.server_cpu_ms / plan.buyers:.2f} ms per attempt)"
    )
    return result, usage


def _spy(pid: int, number: int) -> subprocess.Popen[bytes] | None:
    """BENCH_CHECKOUT_PROFILE=PREFIX: py-spy records the server during each round's burst only
    (collapsed stacks at 1,000 Hz in PREFIX.<round>.txt; `.venv/bin/pip install py-spy`).
    Without pausing the server for each sample (--nonblocking): paused, the burst took twice the
    CPU and three times as long, so the profile was of another burst. Some stacks come out cut
    short (read while they changed); the rest are the burst as it runs."""
    prefix = os.environ.get("BENCH_CHECKOUT_PROFILE")
    if not prefix:
        return None
    out = f"{prefix}.{number + 1}.txt"
    arguments = ["record", "--pid", str(pid), "--rate", "1000", "--nonblocking", "--format", "raw", "-o", out]
    spy = subprocess.Popen([py_spy(), *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    return spy


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def run_checkout(server: AppServer, client: httpx.Client, measurer: Measurer) -> Row:
    plan = measurer.plan
    name = f"5. checkout, {plan.buyers} buyers for {plan.units} units"
    measurer.log(name)
    if plan.warmup > 0:
        # As every workload warms up: a first burst on a fresh server costs a fifth to a half more
        # CPU than the next ones (falling round after round, as it would while more of the pool's
        # connections have prepared the checkout's statements), which a running shop paid long
        # ago. On a variant of its own; its answers are checked the same way, not counted.
        warm, _ = run_round(server, client, measurer, plan.checkout_rounds, warm_up=True)
        if warm.verdict(plan.units) != "nothing oversold":
            raise RuntimeError(f"the warm-up burst oversold or lost units: {warm}")
    results = [run_round(server, client, measurer, number) for number in range(plan.checkout_rounds)]
    rounds = [result for result, _ in results]
    usage = mean_usage([usage for _, usage in results])
    seconds = sum(r.load.seconds for r in rounds)
    load = LoadResult(
        requests=round(statistics.median(r.load.requests_per_second for r in rounds) * seconds),
        seconds=seconds,
        p50_ms=statistics.median(r.load.p50_ms for r in rounds),
        p90_ms=statistics.median(r.load.p90_ms for r in rounds),
        p99_ms=statistics.median(r.load.p99_ms for r in rounds),
        generator_cpu_seconds=sum(r.load.generator_cpu_seconds for r in rounds),
        failures=sum(r.load.failures for r in rounds),
        bad_answers=None,
    )
    verdicts = [r.verdict(plan.units) for r in rounds]
    outcomes = sum((r.outcomes for r in rounds), Counter())
    statements = statistics.median(r.statements.counted for r in rounds)
    transaction = statistics.median(r.statements.transaction for r in rounds)
    answers = ", ".join(f"{count} {what}" for what, count in outcomes.most_common())
    note = (
        f"req/s = checkouts/s, all {plan.buyers} sent at once; answers over {len(rounds)} round(s):"
        f" {answers}. Read with SQL after each round: {'/'.join(str(r.orders) for r in rounds)} orders,"
        f" reserved/stock {'/'.join(f'{r.reserved}:{r.stock}' for r in rounds)}; stock - reserved never"
        f" below {min(r.lowest_available for r in rounds)} ({sum(r.samples for r in rounds)} samples"
        " during the checkouts); server CPU per attempt (load-independent)"
        f" {'/'.join(f'{r.server_cpu_ms / plan.buyers:.2f}' for r in rounds)} ms: "
        + ("nothing oversold" if set(verdicts) == {"nothing oversold"} else "OVERSOLD OR LOST")
    )
    return Row(
        name,
        Measured(load, usage),
        f"{statements:g} (+{transaction:g} tx) per attempt",
        note,
        failed="OVERSOLD OR LOST" in verdicts,
        counts=[("per attempt, all outcomes (last round)", rounds[-1].statements)],
    )
