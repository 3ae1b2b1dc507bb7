"""Run the whole benchmark against a fresh embedded database with the demo catalog.

The server runs as users run it (`python main.py serve`, one worker), its Python process
pinned to CPU 0 (its PostgreSQL is left free to use both cores); wrk runs pinned to CPU 1.
Each workload gets a warm-up, then several rounds; the table shows medians.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench import workloads
from bench.loadgen import LoadResult, fixed_body_script, rotating_bodies_script, run_wrk, unique_body_script

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = 0
GENERATOR_CPU = 1
# Queries of the server's own background work, not of any request.
BACKGROUND = ("SKIP LOCKED", "pg_stat_statements")


@dataclass
class Row:
    workload: str
    load: LoadResult | None
    statements: str
    note: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(
    url: str, process: subprocess.Popen[bytes], path: str = "/readyz", timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def embedded_dsn(data_dir: Path) -> str:
    lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    return f"postgresql://postgres@/shop?host={lines[4]}&port={lines[3]}"


async def sql(dsn: str, statement: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(statement, *args)
    finally:
        await conn.close()


def count_statements(dsn: str, send: Callable[[int], None], requests: int = 50) -> float:
    """Statements PostgreSQL ran per request, from pg_stat_statements, over `requests` sequential requests.

    Transaction control (BEGIN, COMMIT, ROLLBACK) is left out, as are the server's background queries.
    """
    exclude = " AND ".join(f"query NOT ILIKE '%{text}%'" for text in BACKGROUND)
    total = (
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE "
        f"{exclude} AND query !~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SELECT \\$1\\s*;?\\s*$)'"
    )
    # Requests still in flight from the last load run must finish before counting starts.
    before = -1
    while (current := asyncio.run(sql(dsn, total))[0][0]) != before:
        before = current
        time.sleep(0.5)
    for number in range(requests):
        send(number)
    after = asyncio.run(sql(dsn, total))[0][0]
    return (after - before) / requests


def measure(url: str, script: str, warmup: float, seconds: float, rounds: int) -> LoadResult:
    run_wrk(url, script, warmup, cpu=GENERATOR_CPU)
    results = [run_wrk(url, script, seconds, cpu=GENERATOR_CPU) for _ in range(rounds)]
    return LoadResult(
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p90_ms=statistics.median(r.p90_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        generator_cpu=statistics.median(r.generator_cpu for r in results),
        non_2xx=sum(r.non_2xx for r in results),
    )


@contextmanager
def server(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "STRIPE_SECRET_KEY"}}
    env.update(
        {"DATA_DIR": str(data_dir), "LOG_LEVEL": "warning", "WORKERS": "1", "RATE_LIMIT_CHECKOUT": "off"}
    )
    # Hundreds of buyers from one address are the point here, not abuse: no checkout limit.
    # Prepare the database first, so PostgreSQL can load pg_stat_statements when serve starts it.
    subprocess.run([sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    with (data_dir / "pgdata" / "postgresql.conf").open("a") as conf:
        conf.write("\nshared_preload_libraries = 'pg_stat_statements'\n")
    process = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        os.sched_setaffinity(process.pid, {SERVER_CPU})
        yield process
    finally:
        stop(process)


@contextmanager
def ceiling(which: str, dsn: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "bench.ceiling", which, "--port", str(port), "--dsn", dsn]
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, path="/graphql")
        os.sched_setaffinity(process.pid, {SERVER_CPU})
        yield url
    finally:
        stop(process)


def gql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    if "errors" in body:
        raise SystemExit(f"benchmark request failed: {body['errors']}")
    return body["data"]


def body(query: str, **variables: Any) -> dict[str, Any]:
    return {"query": query, "variables": variables}


def run(seconds: float, rounds: int, warmup: float, buyers: int, units: int) -> str:
    data_dir = Path(tempfile.mkdtemp(prefix="storefront-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rows: list[Row] = []
    try:
        with server(data_dir, port) as process, httpx.Client(base_url=url, timeout=60) as client:
            dsn = embedded_dsn(data_dir)
            asyncio.run(sql(dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            rss = PeakRss(process.pid)
            endpoint = f"{url}/graphql"

            catalog = body(workloads.CATALOG_PAGE, first=20)
            page = gql(client, workloads.CATALOG_PAGE, first=20)["products"]["edges"]
            slug = page[0]["node"]["slug"]

            load = measure(endpoint, fixed_body_script(catalog), warmup, seconds, rounds)
            statements = count_statements(dsn, lambda n: gql(client, workloads.CATALOG_PAGE, first=20))
            rows.append(Row("1. catalog page, 20 products (cache hit)", load, f"{statements:g}"))

            load = measure(
                endpoint,
                unique_body_script(body(workloads.CATALOG_PAGE, first=20, nonce="__nonce__")),
                warmup,
                seconds,
                rounds,
            )
            statements = count_statements(
                dsn, lambda n: gql(client, workloads.CATALOG_PAGE, first=20, nonce=n)
            )
            rows.append(Row("1. catalog page, 20 products (cache miss)", load, f"{statements:g}"))

            load = measure(
                endpoint, fixed_body_script(body(workloads.PRODUCT, slug=slug)), warmup, seconds, rounds
            )
            statements = count_statements(dsn, lambda n: gql(client, workloads.PRODUCT, slug=slug, nonce=n))
            rows.append(Row("2. product(slug) with variants", load, f"{statements:g} on a miss"))

            search = body(workloads.SEARCH_PAGE, first=20, search="blutooth speakr", nonce="__nonce__")
            load = measure(endpoint, unique_body_script(search), warmup, seconds, rounds)
            statements = count_statements(
                dsn, lambda n: gql(client, workloads.SEARCH_PAGE, first=20, search="blutooth speakr", nonce=n)
            )
            rows.append(Row("3. search, misspelt, 20 products (cache miss)", load, f"{statements:g}"))

            rows.append(cart_round_trip(client, dsn, endpoint, warmup, seconds, rounds))
            rows.append(checkout_contention(client, dsn, buyers, units))

            with ceiling("catalog", dsn) as ceiling_url:
                own = httpx.post(endpoint, json=catalog).content
                theirs = httpx.post(ceiling_url + "/graphql", json=catalog).content
                same = "same JSON bytes" if own == theirs else "JSON DIFFERS from the server's"
                hand_written = measure(
                    ceiling_url + "/graphql", fixed_body_script(catalog), warmup, seconds, rounds
                )
            rss.close()
        with ceiling("hello", "") as hello_url:
            hello = measure(hello_url + "/", fixed_body_script({}), warmup, seconds, rounds)
        return report(rows, hand_written, same, hello, rss.peak, seconds, rounds)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def cart_round_trip(
    client: httpx.Client, dsn: str, endpoint: str, warmup: float, seconds: float, rounds: int
) -> Row:
    """cartLinesAdd on an existing cart, then reading it, across 50 carts and 20 variants."""
    variants = asyncio.run(
        sql(
            dsn,
            "UPDATE product_variants SET stock = 1000000 WHERE id IN (SELECT v.id FROM product_variants v"
            " JOIN products p ON p.id = v.product_id WHERE p.is_active ORDER BY v.id LIMIT 20) RETURNING id",
        )
    )
    variant_ids = [base64.b64encode(f"ProductVariant:{row['id']}".encode()).decode() for row in variants]
    carts = [
        gql(client, workloads.CART_ADD, variantId=variant_ids[0])["cartLinesAdd"]["cart"]["token"]
        for _ in range(50)
    ]
    bodies = []
    for number in range(len(carts) * len(variant_ids)):
        token = carts[number % len(carts)]
        bodies.append(
            body(
                workloads.CART_ADD,
                cartToken=token,
                variantId=variant_ids[number // len(carts) % len(variant_ids)],
            )
        )
        bodies.append(body(workloads.CART_READ, token=token))
    load = measure(endpoint, rotating_bodies_script(bodies), warmup, seconds, rounds)
    add = count_statements(
        dsn, lambda n: gql(client, workloads.CART_ADD, cartToken=carts[0], variantId=variant_ids[1]), 20
    )
    read = count_statements(dsn, lambda n: gql(client, workloads.CART_READ, token=carts[0]), 20)
    return Row(
        "4. cart round trip (add, then read)",
        load,
        f"{add:g} + {read:g}",
        f"{load.requests_per_second / 2:.0f} round trips/s",
    )


def checkout_contention(client: httpx.Client, dsn: str, buyers: int, units: int) -> Row:
    """Many buyers, each with a cart of one unit of the same variant, for few units, all at once."""
    (row,) = asyncio.run(
        sql(
            dsn,
            "UPDATE product_variants SET stock = $1, reserved = 0 WHERE id = (SELECT v.id FROM product_variants v"
            " JOIN products p ON p.id = v.product_id WHERE p.is_active ORDER BY v.id DESC LIMIT 1) RETURNING id",
            units,
        )
    )
    variant_id = base64.b64encode(f"ProductVariant:{row['id']}".encode()).decode()
    carts = [
        gql(client, workloads.CART_ADD, variantId=variant_id)["cartLinesAdd"]["cart"]["token"]
        for _ in range(buyers)
    ]

    async def buy_all() -> tuple[float, list[dict[str, Any]]]:
        async with httpx.AsyncClient(
            base_url=str(client.base_url), timeout=120, limits=httpx.Limits(max_connections=32)
        ) as http:
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(http.post("/graphql", json=body(workloads.CHECKOUT, cartToken=cart)) for cart in carts)
            )
            return time.perf_counter() - started, [
                answer.json()["data"]["checkoutCreate"] for answer in answers
            ]

    elapsed, answers = asyncio.run(buy_all())
    orders = sum(1 for answer in answers if answer["order"])
    refused = sum(1 for answer in answers if [e["code"] for e in answer["userErrors"]] == ["OUT_OF_STOCK"])
    (stock,) = asyncio.run(sql(dsn, "SELECT stock, reserved FROM product_variants WHERE id = $1", row["id"]))
    oversold = orders > units or stock["reserved"] > stock["stock"]
    verdict = (
        "nothing oversold"
        if not oversold and orders == units and refused == buyers - units
        else "OVERSOLD or lost"
    )
    return Row(
        f"5. checkout, {buyers} buyers for {units} units",
        None,
        "",
        f"{buyers / elapsed:.0f} checkouts/s; {orders} orders, {refused} OUT_OF_STOCK, "
        f"{stock['reserved']}/{stock['stock']} reserved: {verdict}",
    )


def report(
    rows: list[Row],
    hand_written: LoadResult,
    same: str,
    hello: LoadResult,
    peak_rss: int,
    seconds: float,
    rounds: int,
) -> str:
    lines = [
        f"Run on {datetime.date.today()}: {_machine()}; {rounds} rounds of {seconds:g} s after a warm-up, medians;"
        " 32 connections; server (one worker) on CPU 0, wrk on CPU 1.",
        "",
        "| workload | req/s | p50 ms | p90 ms | p99 ms | SQL/request | vs hand-written | vs hello-world | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row.load is None:
            lines.append(f"| {row.workload} | | | | | {row.statements} | | | {row.note} |")
            continue
        load = row.load
        errors = f"; {load.non_2xx} non-2xx" if load.non_2xx else ""
        lines.append(
            f"| {row.workload} | {load.requests_per_second:.0f} | {load.p50_ms:.1f} | {load.p90_ms:.1f} | {load.p99_ms:.1f}"
            f" | {row.statements} | {load.requests_per_second / hand_written.requests_per_second:.2f}"
            f" | {load.requests_per_second / hello.requests_per_second:.3f} | {row.note}{errors} |"
        )
    lines += [
        f"| ceiling (a): hand-written Starlette + asyncpg, workload 1 ({same}) | {hand_written.requests_per_second:.0f}"
        f" | {hand_written.p50_ms:.1f} | {hand_written.p90_ms:.1f} | {hand_written.p99_ms:.1f} | 1 | 1.00 | | |",
        f"| ceiling (b): bare ASGI hello-world | {hello.requests_per_second:.0f} | {hello.p50_ms:.1f}"
        f" | {hello.p90_ms:.1f} | {hello.p99_ms:.1f} | 0 | | 1.000 | |",
        "",
        f"Peak server RSS (the uvicorn process): {peak_rss / 2**20:.0f} MB. Load generator (wrk) CPU: at most"
        f" {max(r.load.generator_cpu for r in rows if r.load) * 100:.0f}% of its core during the workloads,"
        f" {hello.generator_cpu * 100:.0f}% against hello-world.",
    ]
    return "\n".join(lines)


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL 18 (embedded)"


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="one short round each, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds, args.warmup = 3, 1, 1
    table = run(args.duration, args.rounds, args.warmup, args.buyers, args.units)
    print(table)
    (ROOT / "bench" / "last-run.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
