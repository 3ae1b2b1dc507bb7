"""wrk as the load generator: keep-alive connections, exact request bodies, pinned to its own core."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    generator_cpu: float  # share of one core the generator used
    non_2xx: int


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed and could not be installed (apt-get install wrk)")
    return found


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def fixed_body_script(body: dict) -> str:
    return (
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {_lua_string(orjson.dumps(body).decode())}\n"
    )


def unique_body_script(body: dict) -> str:
    """Every request differs by an unused variable, so no answer can be served from a cache."""
    template = orjson.dumps(body).decode().replace("%", "%%").replace('"__nonce__"', "%d")
    return (
        "local counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        f"  local body = string.format({_lua_string(template)}, counter)\n"
        '  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )


def rotating_bodies_script(bodies: list[dict]) -> str:
    """Send the bodies in turn (for a round trip of several requests)."""
    entries = ",\n".join(_lua_string(orjson.dumps(body).decode()) for body in bodies)
    return (
        f"local bodies = {{\n{entries}\n}}\n"
        "local index = 0\n"
        "request = function()\n"
        "  index = index % #bodies + 1\n"
        '  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"}, bodies[index])\n'
        "end\n"
    )


def run_wrk(url: str, script: str, seconds: float, connections: int = 32, cpu: int = 1) -> LoadResult:
    wrk = ensure_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        path = Path(handle.name)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    command = [
        "taskset",
        "-c",
        str(cpu),
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(path),
        url,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    path.unlink()
    cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LoadResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_percentile(output, "50"),
        p90_ms=_percentile(output, "90"),
        p99_ms=_percentile(output, "99"),
        generator_cpu=cpu_seconds / elapsed,
        non_2xx=int(match.group(1))
        if (match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output))
        else 0,
    )


def _percentile(output: str, share: str) -> float:
    match = re.search(rf"^\s+{share}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {share}th percentile in wrk's output:\n{output}")
    return float(match.group(1)) * UNITS[match.group(2)]
