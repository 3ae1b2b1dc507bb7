"""Benchmark of import-catalog and export-catalog: 100,000 variants (25,000 products of 4).

    .venv/bin/python bench/catalog_csv.py [--variants 100000] [--keep]

Starts its own embedded PostgreSQL in a temporary DATA_DIR (migrated, empty catalog), writes the
CSV, then times the commands as users run them (`python main.py ...`, a process each, wall time
including the interpreter's start): the first import (everything created), the same file again
(nothing changes), a file with every price changed (100,000 updates), and the export. Peak memory
(RSS) of each command process is read from the kernel (`resource.getrusage` of children).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.embedded import start_embedded_postgres, stop_embedded_postgres  # noqa: E402
from core.migrations import upgrade_to_head  # noqa: E402

HEADER = "product_slug,product_name,description,category,category_name,active,images,sku,variant_name,price,stock,position\n"
SIZES = ("S", "M", "L", "XL")


def write_csv(path: Path, variants: int, price_offset: int = 0) -> None:
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(variants):
            product, size = divmod(n, len(SIZES))
            out.write(
                f"bench-product-{product},Bench product {product},A product of the benchmark number {product}.,"
                f"bench-category-{product % 50},Bench category {product % 50},true,"
                f"https://images.example.com/p/{product}.jpg Photo of product {product},"
                f"BENCH-{product}-{SIZES[size]},{SIZES[size]},{1000 + product % 5000 + price_offset},{n % 100},{size}\n"
            )


def timed(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Wall seconds, the child's peak RSS in MB (so far, over all children), its last output line."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{args} failed: {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    try:
        database_url = start_embedded_postgres(data_dir)
        upgrade_to_head(database_url)
        env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "warning", "PAYMENT_SANDBOX": "on"}
        env.pop("TEST_DATABASE_URL", None)
        first, changed, exported = data_dir / "catalog.csv", data_dir / "prices.csv", data_dir / "export.csv"
        write_csv(first, args.variants)
        write_csv(changed, args.variants, price_offset=1)
        print(f"{args.variants:,} variants, {first.stat().st_size / 1e6:.1f} MB of CSV")
        print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        print("| run | seconds | variants/s | peak RSS MB (max so far) | output |")
        print("| --- | --- | --- | --- | --- |")
        for name, command in (
            ("import, empty catalog", ("import-catalog", str(first))),
            ("import the same file again", ("import-catalog", str(first))),
            ("import with every price changed", ("import-catalog", str(changed))),
            ("dry run of the first file", ("import-catalog", str(first), "--dry-run")),
            ("export", ("export-catalog", str(exported))),
        ):
            seconds, peak, output = timed(env, *command)
            print(f"| {name} | {seconds:.1f} | {args.variants / seconds:,.0f} | {peak:.0f} | {output} |")
        print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    finally:
        stop_embedded_postgres(data_dir)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
