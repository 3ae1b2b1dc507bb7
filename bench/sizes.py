"""The size sweep (issue 18): every catalog shape, uncached, at 320, 100,000 and 1,000,000 products.

For each size: a fresh DATA_DIR, `main.py migrate`, `main.py seed --products N`, VACUUM ANALYZE,
then `main.py serve` as the benchmark runs it (one worker on CPU 0). Each shape of bench/shapes.py
is sent sequentially (one connection, after a warm-up) with a `nonce` variable, so every request
executes in full; p50/p99 are the client's. Then EXPLAIN (ANALYZE, BUFFERS) of each page
statement gives the execution time PostgreSQL measured (steadier on a busy machine), and the
plans of the slowest shapes go to bench/plans-<N>.md.

Run: scripts/bench --sizes [--million] [--sizes-data-dir DIR] [--sizes-requests N].
`--sizes-data-dir DIR` keeps the seeded databases under DIR (DIR/<N>) and reuses them next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson

from bench import shapes, workloads
from bench.processes import ROOT, app_server, server_environment

SIZES = (320, 100_000)
SIZES_LAST_RUN = ROOT / "bench" / "sizes-last-run.md"
MILLION = 1_000_000
SLOWEST_PLANS = 3


def _seeded(data_dir: Path, products: int, log: Callable[[str], None]) -> None:
    env = server_environment(data_dir)
    if (data_dir / f"seeded-{products}").exists():
        log(f"reusing the {products:,}-product database in {data_dir}")
        return
    started = time.monotonic()
    for command in (["migrate"], ["seed", "--products", str(products)]):
        done = subprocess.run(
            [sys.executable, "main.py", *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"`main.py {' '.join(command)}` failed:\n{done.stdout}{done.stderr[-2000:]}")
    log(f"seeded {products:,} products in {time.monotonic() - started:.0f} s")
    (data_dir / f"seeded-{products}").touch()


@contextlib.contextmanager
def _data_dir(parent: Path | None, products: int) -> Iterator[Path]:
    if parent is not None:
        path = parent / str(products)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix=f"storefront-sizes-{products}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _time_shape(client: httpx.Client, query: str, requests: int, nonce: list[int]) -> list[float]:
    timings = []
    for index in range(requests + 3):
        nonce[0] += 1
        body = orjson.dumps({"query": query, "variables": {workloads.NONCE_VARIABLE: nonce[0]}})
        started = time.perf_counter()
        response = client.post("/graphql", content=body, headers={"content-type": "application/json"})
        elapsed = (time.perf_counter() - started) * 1000
        answer = response.json()
        if response.status_code != 200 or "errors" in answer:
            raise RuntimeError(f"{query[:80]}: {response.status_code} {str(answer)[:300]}")
        if index >= 3:  # the first ones warm the plan caches up
            timings.append(elapsed)
    return timings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_size(
    products: int, parent: Path | None, requests: int, log: Callable[[str], None]
) -> tuple[list[list[str]], list[tuple[str, float, list[str]]]]:
    """Rows (shape, p50, p99, EXPLAIN ms) and the plans, for one size."""
    rows: list[list[str]] = []
    plans: list[tuple[str, float, list[str]]] = []
    with _data_dir(parent, products) as data_dir:
        _seeded(data_dir, products, log)
        server_log = data_dir / "serve.log"
        with app_server(data_dir, server_log) as server:
            dsn = server.postgres.dsn("shop")
            _vacuum(dsn)
            explained = {shape.name: lines for shape, lines in asyncio.run(shapes.explain_all(dsn))}
            cursors = asyncio.run(_cursors(dsn))
            nonce = [0]
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for shape in shapes.SHAPES:
                    query = shapes.graphql_query(shape, cursors.get(shape.name))
                    timings = _time_shape(client, query, requests, nonce)
                    execution = _execution_ms(explained[shape.name])
                    rows.append(
                        [
                            shape.name,
                            f"{statistics.median(timings):.1f}",
                            f"{_percentile(timings, 0.99):.1f}",
                            f"{execution:.2f}",
                        ]
                    )
                    plans.append((shape.name, execution, explained[shape.name]))
                slug = client.post(
                    "/graphql", json={"query": "{ products(first: 1) { edges { node { slug } } } }"}
                ).json()["data"]["products"]["edges"][0]["node"]["slug"]
                query = workloads.PRODUCT.replace("($slug: String!)", "").replace("$slug", f'"{slug}"')
                timings = _time_shape(client, query, requests, nonce)
                rows.append(
                    [
                        "product(slug)",
                        f"{statistics.median(timings):.1f}",
                        f"{_percentile(timings, 0.99):.1f}",
                        "",
                    ]
                )
            log(f"{products:,} products measured")
    return rows, plans


def _vacuum(dsn: str) -> None:
    from bench.pgstats import fetch

    fetch(dsn, "VACUUM ANALYZE products")
    fetch(dsn, "VACUUM ANALYZE product_variants")


async def _cursors(url: str) -> dict[str, str]:
    """The `after` cursor of each deep shape, as the API encodes it."""
    from core.db import create_engine
    from graph.pagination import encode_cursor

    engine = create_engine(url)
    cursors = {}
    try:
        async with engine.connect() as conn:
            for shape in shapes.SHAPES:
                if shape.deep:
                    key = await shapes.deep_key(conn, shape.sort)
                    cursors[shape.name] = encode_cursor(f"products:{shape.sort or 'NEWEST'}", key)
            await conn.rollback()
    finally:
        await engine.dispose()
    return cursors


def _execution_ms(plan: list[str]) -> float:
    for line in plan:
        if line.startswith("Execution Time:"):
            return float(line.split()[2])
    return float("nan")


def run_sizes(sizes: tuple[int, ...], parent: Path | None, requests: int, log: Callable[[str], None]) -> str:
    """The markdown of the sweep; writes bench/plans-<N>.md with the slowest shapes' plans."""
    lines = [
        "| shape | " + " | ".join(f"{size:,}: p50 / p99 ms (EXPLAIN ms)" for size in sizes) + " |",
        "| --- |" + " --- |" * len(sizes),
    ]
    by_size = {}
    for size in sizes:
        rows, plans = measure_size(size, parent, requests, log)
        by_size[size] = rows
        slowest = sorted(plans, key=lambda plan: -plan[1])
        _write_plans(size, plans, [name for name, _, _ in slowest[:SLOWEST_PLANS]])
    for index, row in enumerate(by_size[sizes[0]]):
        cells = []
        for size in sizes:
            _, p50, p99, explain = by_size[size][index]
            cells.append(f"{p50} / {p99}" + (f" ({explain})" if explain else ""))
        lines.append(f"| {row[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_plans(size: int, plans: list[tuple[str, float, list[str]]], slowest: list[str]) -> None:
    path = ROOT / "bench" / f"plans-{size}.md"
    text = [
        f"# Plans of the catalog shapes at {size:,} products",
        "",
        "Written by `scripts/bench --sizes`: EXPLAIN (ANALYZE, BUFFERS) of each page statement"
        " (with totalCount where the shape asks for it; for the facets shapes, of the facet counts'"
        " statement), in the order of bench/shapes.py."
        f" Slowest here: {', '.join(slowest)}.",
    ]
    for name, execution, lines in plans:
        text += ["", f"## {name} ({execution:.2f} ms)", "", "```", *lines, "```"]
    path.write_text("\n".join(text) + "\n")


def main_sizes(million: bool, parent: Path | None, requests: int, log: Callable[[str], None]) -> str:
    sizes = (*SIZES, MILLION) if million else SIZES
    return run_sizes(sizes, parent, requests, log)
