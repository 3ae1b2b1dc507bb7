"""A py-spy profile of the server under workload 1: `scripts/bench --profile [--profile-seconds 15]`.

py-spy is not a dependency of the project: `.venv/bin/pip install py-spy`. The server runs as in
the benchmark; wrk sends workload 1 as a storefront does (the same body: cache hits), then with
unique bodies (cache misses: the whole GraphQL execution). For each, py-spy records the uvicorn
process twice in a row under the same load: collapsed stacks (`--format raw`), summarised here
into the hottest functions, then a flame graph. Writes bench/profile-catalog.svg,
bench/profile-catalog-miss.svg and bench/profile-catalog.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench import pgstats, workloads
from bench.loadgen import Fixed, Generator, LoadSpec, Unique
from bench.processes import GENERATOR_CPU, ROOT, AppServer, app_server, pin

RATE = 100  # samples per second
TOP = 10


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is needed for --profile: .venv/bin/pip install py-spy")
    return found


def _frame_name(frame: str) -> str:
    """`handle (strawberry/http/base.py:42)` -> `handle (strawberry/http/base.py)`: lines merged."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


EVENT_LOOP = "Runner.run (asyncio/runners.py)"


def summarise(raw: str, title: str, seconds: float) -> list[str]:
    """The hottest functions of collapsed stacks by own time, and own time by library, as shares
    of the busy samples. Stacks start with the thread (py-spy --threads). Own time of the event
    loop is uvloop's C code: polling, socket reads and writes, running callbacks.
    """
    own: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        frames = [_frame_name(frame) for frame in frames if " (" in frame]
        if not frames:
            continue
        samples += count
        threads[thread] += count
        own[frames[-1]] += count
    busy = samples / (RATE * seconds)
    lines = [
        f"### {title}",
        "",
        f"{samples} busy samples in {seconds:g} s at {RATE} Hz: the server's Python threads were busy"
        f" {busy:.0%} of the time; by thread: "
        + ", ".join(f"{name} {count / samples:.0%}" for name, count in threads.most_common(3))
        + ".",
        "",
    ]
    lines += [f"Top {TOP} functions by own time:", "", "| share | function (file) |", "| --- | --- |"]
    lines += [f"| {count / samples:.1%} | `{name}` |" for name, count in own.most_common(TOP)]
    libraries: Counter[str] = Counter()
    for name, count in own.items():
        libraries[_library(name)] += count
    lines += ["", "Own time by library:", "", "| share | library |", "| --- | --- |"]
    lines += [f"| {count / samples:.1%} | {name} |" for name, count in libraries.most_common()]
    return [*lines, ""]


APP_PACKAGES = ("core", "graph", "models", "resolvers", "domain", "webhooks", "main.py")


def _library(function: str) -> str:
    path = function.rpartition(" (")[2].rstrip(")")
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in APP_PACKAGES or top == "main":
        return "the application (" + ", ".join(APP_PACKAGES) + ")"
    if function.startswith(EVENT_LOOP):
        return "event loop (uvloop: polling, socket I/O, callbacks)"
    if top == "<string>":
        return "generated code (dataclass __init__, strawberry's argument lambdas)"
    if top in sys.stdlib_module_names or top.startswith("<frozen"):
        return "standard library"
    return top


def record(server: AppServer, generator: Generator, spec: LoadSpec, seconds: float, svg: Path) -> str:
    """Collapsed stacks over `seconds`, then a flame graph over as long, under one continuous load."""
    executable = py_spy()
    load = threading.Thread(target=generator.run, args=(server.url, spec, 2 * seconds + 4), daemon=True)
    load.start()
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "stacks.txt"
        base = [executable, "record", "--pid", str(server.process.pid), "--rate", str(RATE)]
        raw_options = ["--duration", f"{seconds:g}", "--format", "raw", "--threads", "-o", str(raw)]
        subprocess.run([*base, *raw_options], check=True)
        subprocess.run([*base, "--duration", f"{seconds:g}", "-o", str(svg)], check=True)
        text = raw.read_text()
    keep = os.environ.get("BENCH_PROFILE_STACKS")  # a folder to keep the collapsed stacks in
    if keep:
        Path(keep, svg.with_suffix(".txt").name).write_text(text)
    load.join()
    return text


def profile(generator: Generator, seconds: float) -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="storefront-profile-"))
    out = ROOT / "bench"
    sections = [
        "# py-spy profile of the server under workload 1",
        "",
        f"`scripts/bench --profile --profile-seconds {seconds:g}`: the server as in the benchmark (one"
        " worker on CPU 0), wrk with 32 connections on CPU 1, py-spy sampling the uvicorn process"
        f" at {RATE} Hz (idle time left out). Own time: samples in the function itself (C code it calls"
        " included, e.g. socket writes); shares are of the busy samples. The flame graphs show total time.",
        "",
    ]
    try:
        with app_server(data_dir, data_dir / "serve.log") as server:
            pin(os.getpid(), {GENERATOR_CPU})
            pgstats.enable(server.postgres.dsn(pgstats.STATS_DATABASE))
            fixed = LoadSpec("/graphql", Fixed(workloads.body(workloads.CATALOG_PAGE)))
            unique = LoadSpec("/graphql", Unique(workloads.nonce_template(workloads.CATALOG_PAGE)))
            for title, spec, svg in (
                ("Workload 1 as sent (the same body: cache hits)", fixed, out / "profile-catalog.svg"),
                ("Workload 1 with unique bodies (cache misses)", unique, out / "profile-catalog-miss.svg"),
            ):
                generator.run(server.url, spec, 3)  # warm-up
                sections += summarise(record(server, generator, spec, seconds, svg), title, seconds)
                sections.append(f"Flame graph: `bench/{svg.name}`.\n")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    summary = out / "profile-catalog.md"
    summary.write_text("\n".join(sections))
    return summary
