"""Server CPU per step of a paid order, measured sequentially (load-independent).

`python -m bench.order_cpu [--orders N]` starts the server as the benchmark does, then places N
orders one after another as workload 6's order flow does (cartLinesAdd, checkoutCreate, the
sandbox's pay: the signed payment webhook), and reads the server process's CPU time
(every thread, from /proc schedstat) before and after each step. After each pay it waits for the
order's jobs (e-mail) to settle and counts that as "after pay" (and likewise after checkout); the idle CPU of the same wait
(without an order) is measured first and subtracted. Medians in ms of CPU per step.

Then as many orders again back to back, without waits: their CPU per order, jobs included. On this
machine that is about half the sum of the steps, which each pay a wake-up cost after a wait (see
`back_to_back`); a server under load pays the back-to-back price.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil

from bench import graphql, pgstats, workloads
from bench.checkout import buyer_address
from bench.processes import app_server
from bench.profile import py_spy
from bench.storefront_day import order_variants, paid_order

SETTLE = 0.25  # seconds for an order's jobs to run after its payment


class CatalogNotifications:
    """The `catalog_changed` notifications sent while the block runs (what drops cached answers)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.payloads: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        await conn.add_listener("catalog_changed", lambda *args: self.payloads.append(args[3]))
        self._ready.set()
        await asyncio.to_thread(self._stop.wait)
        await asyncio.sleep(0.3)  # what the last order sent is heard
        await conn.close()

    def __enter__(self) -> CatalogNotifications:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu(process: psutil.Process) -> float:
    """Seconds on a CPU, every thread (schedstat: nanoseconds, where cpu_times counts 10 ms ticks)."""
    total = 0
    for task in Path(f"/proc/{process.pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def measure(url: str, pid: int, variants: list[str], orders: int) -> dict[str, list[float]]:
    process = psutil.Process(pid)
    steps: dict[str, list[float]] = {
        "cart": [],
        "checkout": [],
        "after checkout": [],
        "pay": [],
        "after pay": [],
        "idle": [],
    }
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(10):
            before = _cpu(process)
            time.sleep(SETTLE)
            steps["idle"].append(_cpu(process) - before)
        for buyer in range(200_000, 200_000 + orders):
            headers = {"X-Forwarded-For": buyer_address(buyer)}
            variant = variants[buyer % len(variants)]
            t0 = _cpu(process)
            cart = graphql.new_cart(client, variant, headers)
            t1 = _cpu(process)
            body = workloads.body(workloads.CHECKOUT, cartToken=cart, email=f"cpu{buyer}@example.com")
            created = graphql.payload(graphql.post(client, body, headers), "checkoutCreate")
            t2 = _cpu(process)
            time.sleep(SETTLE)
            t2b = _cpu(process)
            paid = client.post(urlsplit(created["checkoutUrl"]).path + "/pay", headers=headers)
            assert paid.status_code in (200, 303), paid.status_code
            t3 = _cpu(process)
            time.sleep(SETTLE)
            t4 = _cpu(process)
            steps["cart"].append(t1 - t0)
            steps["checkout"].append(t2 - t1)
            steps["after checkout"].append(t2b - t2)
            steps["pay"].append(t3 - t2b)
            steps["after pay"].append(t4 - t3)
    return steps


def back_to_back(url: str, pid: int, variants: list[str], orders: int) -> float:
    """Seconds of server CPU per paid order when orders follow one another without a pause (their
    jobs included, the process's idle CPU over as long subtracted).

    The per-step figures of `measure` are taken after 0.25 s waits, and on this machine a process
    that has just idled pays a wake-up cost on each request (a hello-world Starlette answer costs
    85 µs back to back and about 450 µs after 0.25 s idle): those figures overstate what an order
    costs a busy server, which this one does not. The orders are workload 6's (`paid_order`).
    """
    process = psutil.Process(pid)
    with httpx.Client(base_url=url, timeout=30) as client:
        before, started = _cpu(process), time.monotonic()
        for buyer in range(400_000, 400_000 + orders):
            paid_order(client, variants[buyer % len(variants)], buyer, f"hot{buyer}@example.com")
        time.sleep(2 * SETTLE)  # the last orders' jobs
        used, elapsed = _cpu(process) - before, time.monotonic() - started
        idle_before = _cpu(process)
        time.sleep(2.0)
        idle_rate = (_cpu(process) - idle_before) / 2.0
    return (used - idle_rate * elapsed) / orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--profile", help="also record a py-spy profile (collapsed stacks) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-order-cpu-") as tmp:
        with app_server(Path(tmp) / "data", Path(tmp) / "server.log") as server:
            pgstats.enable(server.postgres.dsn(pgstats.STATS_DATABASE))
            variants = order_variants(server.postgres.dsn(pgstats.APP_DATABASE, pgstats.BENCH_ROLE))
            measure(server.url, server.process.pid, variants, 20)  # warm-up
            spy = None
            if args.profile:
                command = [py_spy(), "record", "--pid", str(server.process.pid), "--rate", "500",
                           "--format", "raw", "--nonblocking", "--output", args.profile]  # fmt: skip
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            stats_dsn = server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE)
            before = pgstats.snapshot(stats_dsn)
            with CatalogNotifications(server.postgres.dsn(pgstats.APP_DATABASE, pgstats.BENCH_ROLE)) as heard:
                steps = measure(server.url, server.process.pid, variants, args.orders)
            after = pgstats.snapshot(stats_dsn)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait()
            hot = back_to_back(server.url, server.process.pid, variants, args.orders)
    statements = []
    for key, (query, calls) in after.items():
        calls -= before.get(key, ("", 0))[1]
        if calls > 0:
            statements.append((calls / args.orders, pgstats.kind(query), " ".join(query.split())[:150]))
    statements.sort(reverse=True)
    print(f"statements per order: {sum(calls for calls, _, _ in statements):.2f}")
    for calls, what, query in statements:
        print(f"  {calls:5.2f} {what[:5]} {query}")
    kinds = Counter(
        "everything" if not payload.startswith("stock:") else "stock" for payload in heard.payloads
    )
    print(
        f"catalog_changed per order: {', '.join(f'{kind} {n / args.orders:.2f}' for kind, n in kinds.items())}"
    )
    idle = statistics.median(steps.pop("idle"))
    for name in ("after checkout", "after pay"):
        steps[name] = [value - idle for value in steps[name]]
    for name, values in steps.items():
        print(
            f"{name:10} median {statistics.median(values) * 1000:6.2f} ms  mean {statistics.mean(values) * 1000:6.2f} ms"
        )
    total = sum(statistics.mean(values) for values in steps.values())
    print(
        f"{'order':10} mean {total * 1000:6.2f} ms CPU (idle {idle * 1000:.2f} ms per {SETTLE} s subtracted)"
    )
    print(f"{'order':10} back to back {hot * 1000:6.2f} ms CPU, jobs included (no waits: no wake-up costs)")


if __name__ == "__main__":
    main()
