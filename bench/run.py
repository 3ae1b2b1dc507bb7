"""The benchmark of issue 6: five workloads and two ceilings on a fresh embedded database.

Run: scripts/bench [--duration S] [--rounds N] [--warmup S] [--quick] (see bench/README.md).
Prints a markdown table and writes it, with the machine and the method, to bench/last-run.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import graphql, pgstats, subscribers, workloads
from bench.apq import NAME as APQ_NAME
from bench.apq import run_apq
from bench.cart import NAME as CART_NAME
from bench.cart import run_cart
from bench.ceilings import run_hand_written, run_hello
from bench.checkout import run_checkout
from bench.loadgen import Generator, choose_generator
from bench.measure import Measurer, Plan
from bench.processes import GENERATOR_CPU, ROOT, AppServer, app_server, pin
from bench.reads import reads, run_read
from bench.report import Report, Row
from bench.storefront_day import NAME as DAY_NAME
from bench.storefront_day import run_storefront_day

LAST_RUN = ROOT / "bench" / "last-run.md"
_started = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per workload (default 3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per workload (default 3)")
    parser.add_argument("--buyers", type=int, default=200, help="checkout: buyers (default 200)")
    parser.add_argument("--units", type=int, default=20, help="checkout: units in stock (default 20)")
    parser.add_argument(
        "--statement-requests",
        type=int,
        default=50,
        help="sequential requests per statement count (default 50)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute: 1 round of 3 s")
    parser.add_argument(
        "--profile", action="store_true", help="instead of the benchmark: py-spy profiles under workload 1"
    )
    parser.add_argument(
        "--profile-seconds", type=float, default=15.0, help="seconds per profile (default 15)"
    )
    parser.add_argument(
        "--generator", choices=["auto", "wrk", "python"], default="auto",
        help="wrk (installed when missing), or the benchmark's own asyncio generator (default auto)",
    )  # fmt: skip
    parser.add_argument(
        "--sizes", action="store_true",
        help="instead of the benchmark: the size sweep, every catalog shape uncached at 320 and 100,000 products",
    )  # fmt: skip
    parser.add_argument("--million", action="store_true", help="--sizes: and at 1,000,000 products (slow)")
    parser.add_argument(
        "--sizes-data-dir", type=Path, default=None,
        help="--sizes: keep the seeded databases under this folder and reuse them",
    )  # fmt: skip
    parser.add_argument(
        "--sizes-requests", type=int, default=40, help="--sizes: requests per shape (default 40)"
    )
    parser.add_argument(
        "--job-worker", choices=["in-process", "separate"], default="in-process",
        help="background jobs inside the server (the demo's way, default), or in `main.py worker`"
        " beside it with RUN_WORKER=off (as deployed)",
    )  # fmt: skip
    parser.add_argument(
        "--only-day", action="store_true", help="run only workload 6, a storefront's day (--only day)"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts to run: reads, cart, checkout, day, day-apart, apq, fanout, ceilings"
        " (default all; day-apart: workload 6 again on a server whose jobs run in a worker apart)",
    )
    parser.add_argument(
        "--fanout", default=None,
        help='fan-out: comma-separated subscriber counts, each on a fresh server (default "1000,10000"; --quick "1000")',
    )  # fmt: skip
    parser.add_argument(
        "--fanout-rounds",
        type=int,
        default=None,
        help="fan-out: events (rounds) per count (default 3; --quick 1)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup, args.statement_requests = 3.0, 1, 1.0, 20
    if args.fanout is None:
        args.fanout = "1000" if args.quick else "1000,10000"
    if args.fanout_rounds is None:
        args.fanout_rounds = 1 if args.quick else 3
    return args


def guarded(name: str, work: Callable[[], list[Row]]) -> list[Row]:
    """A workload that fails is reported in its row; the others still run."""
    try:
        return work()
    except Exception as error:
        log(f"{name} failed:\n{traceback.format_exc()}")
        return [Row(name, note=f"failed: {type(error).__name__}: {str(error)[:200]}", failed=True)]


def benchmark(
    server: AppServer, report: Report, measurer: Measurer, only: frozenset[str] = frozenset()
) -> None:
    def wanted(part: str) -> bool:
        return not only or part in only

    with httpx.Client(base_url=server.url, timeout=120) as client:
        api = graphql.api(client)
        page = graphql.call(client, workloads.CATALOG_PAGE)["products"]["edges"]
        slug = page[0]["node"]["slug"]
        currency = page[0]["node"]["priceRange"]["min"]["currency"]
        for read in reads(slug) if wanted("reads") else []:
            report.rows += guarded(read.name, lambda read=read: run_read(read, server, client, measurer))
        if not wanted("cart"):
            pass
        elif api.has("cartLinesAdd", "cart"):
            report.rows += guarded(CART_NAME, lambda: [run_cart(server, client, measurer)])
        else:
            report.rows.append(Row(CART_NAME, note="n/a (cart API missing)"))
        checkout_name = f"5. checkout, {measurer.plan.buyers} buyers for {measurer.plan.units} units"
        if not wanted("checkout"):
            pass
        elif not api.has("cartLinesAdd"):
            report.rows.append(Row(checkout_name, note="n/a (cart API missing)"))
        elif not api.has("checkoutCreate"):
            report.rows.append(Row(checkout_name, note="n/a (checkoutCreate missing)"))
        else:
            report.rows += guarded(checkout_name, lambda: [run_checkout(server, client, measurer)])
        if wanted("day") and api.has("cartLinesAdd", "checkoutCreate"):
            report.rows += guarded(DAY_NAME, lambda: run_storefront_day(server, client, measurer))
    if wanted("apq"):
        with httpx.Client(base_url=server.url, timeout=120) as client:
            report.rows += guarded(APQ_NAME, lambda: run_apq(server, client, measurer))
    if not wanted("ceilings"):
        return
    rows = guarded("ceiling (a)", lambda: _hand_written(server, currency, measurer, report))
    report.hand_written = rows[0]
    report.hello = guarded("ceiling (b)", lambda: [run_hello(server, measurer)])[0]


def _hand_written(server: AppServer, currency: str, measurer: Measurer, report: Report) -> list[Row]:
    row, same = run_hand_written(server, currency, measurer)
    report.details.append(same)
    return [row]


def details(report: Report, server_log: Path) -> list[str]:
    lines = [""]
    others = [(row.measured.usage.other, row.name) for row in report.all_rows() if row.measured]
    if others:
        low, high = min(others), max(others)
        lines.append(
            f"Other processes (not the server, its PostgreSQL or the generator) used {low[0]:.0%} to"
            f" {high[0]:.0%} of a core during the rounds (most during `{high[1]}`)."
            + (" The machine was not quiet: compare with care, or rerun." if high[0] > 0.10 else "")
        )
    lines += ["", "SQL statements, per request, by statement (pg_stat_statements, normalised text):", ""]
    for row in report.all_rows():
        for label, count in row.counts:
            lines.append(f"- {row.name}, {label}: {count.label()}")
            lines += [f"  - {calls:g} x `{text[:160]}`" for calls, text in count.by_statement]
    log_text = server_log.read_text(errors="replace") if server_log.exists() else ""
    problems = [line for line in log_text.splitlines() if " ERROR " in line or " WARNING " in line]
    tracebacks = log_text.count("Traceback (most recent call last)")
    lines += ["", f"Server log: {len(problems)} warning/error lines, {tracebacks} tracebacks."]
    lines += [f"    {line[:200]}" for line in problems[:5]]
    return lines


def run(args: argparse.Namespace) -> Report:
    plan = Plan(
        duration=args.duration,
        rounds=args.rounds,
        warmup=args.warmup,
        statement_requests=args.statement_requests,
        buyers=args.buyers,
        units=args.units,
        checkout_rounds=args.rounds,
    )
    generator = choose_generator(args.generator, log)
    data_dir = Path(tempfile.mkdtemp(prefix="storefront-bench-"))
    server_log = data_dir / "serve.log"
    try:
        log(f"starting the server (DATA_DIR={data_dir}): migrate, then serve with the demo catalog")
        with app_server(data_dir, server_log, args.job_worker) as server:
            log(f"server ready at {server.url}, pid {server.process.pid} pinned to CPU 0")
            if server.worker is not None:
                log(f"job worker apart, pid {server.worker.pid} pinned to CPU {GENERATOR_CPU}")
            pin(os.getpid(), {GENERATOR_CPU})  # the benchmark itself: CPU 1, with the load generator
            pgstats.enable(server.postgres.dsn(pgstats.STATS_DATABASE))
            version = pgstats.server_version(server.postgres.dsn(pgstats.STATS_DATABASE, pgstats.BENCH_ROLE))
            report = Report(plan, generator.name, version, job_worker=args.job_worker)
            only = frozenset(part.strip() for part in args.only.split(",") if part.strip())
            if args.only_day:
                only = frozenset({"day"})
            worker_pid = server.worker.pid if server.worker is not None else None
            benchmark(server, report, Measurer(generator, plan, log, server.postgres, worker_pid), only)
            log("stopping the server")
        if args.job_worker == "in-process" and (not only or "day-apart" in only):
            report.rows += guarded(
                f"{DAY_NAME}; job worker apart)", lambda: day_apart(plan, generator, data_dir)
            )
        report.details += details(report, server_log)
        if not only or "fanout" in only:
            report.details += fanout(args, report)
        return report
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def day_apart(plan: Plan, generator: Generator, data_dir: Path) -> list[Row]:
    """Workload 6 on a fresh server of the deployed topology (compose.yaml): `RUN_WORKER=off` and
    `python main.py worker` beside it, pinned to CPU 1 with the generator. The rows of the run's own
    server keep the demo's topology (jobs inside it), so that they compare with earlier runs."""
    log("starting a server whose jobs run in a worker apart (as deployed), for workload 6 again")
    with app_server(data_dir / "apart", data_dir / "apart.log", "separate") as server:
        assert server.worker is not None
        pgstats.enable(server.postgres.dsn(pgstats.STATS_DATABASE))
        measurer = Measurer(generator, plan, log, server.postgres, server.worker.pid)
        with httpx.Client(base_url=server.url, timeout=120) as client:
            rows = run_storefront_day(server, client, measurer, apart=True)
        log("stopping that server")
    return rows


def fanout(args: argparse.Namespace, report: Report) -> list[str]:
    """Order-status fan-out (bench/subscribers.py), each count on a fresh server of its own."""
    lines = [
        "",
        "Order-status fan-out (`bench/subscribers.py`): N WebSocket subscribers (graphql-transport-ws, one"
        " client address each) follow one order; a signed `checkout.session.completed` webhook is sent and"
        " the time to each subscriber's PAID event is measured. One server process pinned to CPU 0,"
        f" the clients on CPU 1; medians over {args.fanout_rounds} events. Memory: the server's RSS"
        " before and after the subscribers connected and subscribed.",
        "",
        "| subscribers | p50 ms | p99 ms | last ms | server CPU ms (per subscriber) | RSS MB before / subscribed / peak | KB per subscriber |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    gc_notes: list[str] = []
    for count in (int(part) for part in args.fanout.split(",") if part.strip()):
        log(f"fan-out to {count:,} subscribers")
        try:
            r = asyncio.run(subscribers.run(count, args.fanout_rounds))
        except Exception as error:
            log(f"fan-out to {count} failed:\n{traceback.format_exc()}")
            lines.append(f"| {count:,} | failed: {type(error).__name__}: {str(error)[:120]} | | | | | |")
            continue
        log(
            f"    p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, {r['kb_per_subscriber']:.1f} KB per subscriber"
        )
        lines.append(
            f"| {count:,} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['last_ms']:.0f} |"
            f" {r['server_cpu_ms']:.0f} ({r['cpu_us_per_subscriber']:.0f} µs; net of idle"
            f" {r['net_cpu_us_per_subscriber']:.0f} µs) |"
            f" {r['rss_before_mb']:.0f} / {r['rss_subscribed_mb']:.0f} / {r['rss_peak_mb']:.0f} |"
            f" {r['kb_per_subscriber']:.1f} |"
        )
        if r.get("full_gcs"):
            gc_notes.append(f"{count:,}: {r['full_gcs']}")
    if gc_notes:
        lines.append("")
        lines.append(
            "Full garbage collections of the server during each event's fan-out (per round): "
            + "; ".join(gc_notes)
            + ". One takes about a second of CPU at 10,000 subscribers (about 3 million objects)."
        )
    return lines


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `with` blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _exit_on_signal)
    args = parse_args(argv)
    if args.profile:
        from bench.profile import profile

        summary = profile(choose_generator(args.generator, log), args.profile_seconds)
        print(summary.read_text())
        log(f"wrote {summary.relative_to(ROOT)} and the flame graphs next to it")
        return 0
    if args.sizes:
        from bench.sizes import SIZES_LAST_RUN, main_sizes

        table = main_sizes(args.million, args.sizes_data_dir, args.sizes_requests, log)
        print(table)
        SIZES_LAST_RUN.write_text(table + "\n")
        log(f"wrote {SIZES_LAST_RUN.relative_to(ROOT)} and bench/plans-<size>.md")
        return 0
    report = run(args)
    print(report.table())
    print("\n".join(report.details))
    if args.only or args.only_day:  # a partial run is printed, not written over the full run's report
        return 1 if report.failed else 0
    report.write(LAST_RUN)
    log(f"wrote {LAST_RUN.relative_to(ROOT)}")
    return 1 if report.failed else 0
