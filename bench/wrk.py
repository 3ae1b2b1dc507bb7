"""wrk as the load generator: a Lua script per load, keep-alive connections, pinned to its own core.

Fixed bodies use wrk's static request (`wrk.body`), the cheapest way to send. Unique bodies
are built per request by `request()`. Per-connection sequences run one connection per wrk
thread (`-t N -c N`): a thread's Lua state is its connection's, so the thread sends its
sequence in turn, each request after the previous answer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.loadgen import Fixed, Get, LoadResult, LoadSpec, PerConnection, Unique, next_nonce_start
from bench.workloads import NONCE_PLACEHOLDER

GENERATOR_CPU = 1
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
BAD_ANSWERS_MARK = "bench-bad-answers"


def ensure_wrk(log: Callable[[str], None]) -> str | None:
    """The path of wrk, installed with apt-get when missing; None when that cannot work."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: apt-get update && apt-get install -y wrk")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as error:
            log(f"  {' '.join(command)} failed: {error}")
            return None
    return shutil.which("wrk")


def _lua_string(text: bytes) -> str:
    decoded = text.decode()
    if "]==]" in decoded:
        raise ValueError("a body cannot hold ]==] in a Lua long string")
    return "[==[" + decoded + "]==]"


_HEADERS = 'local headers = {["Content-Type"] = "application/json"}\n'

_CHECK = """
local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("index", thread_count)
  table.insert(threads, thread)
end
bad = 0
function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) or body:find('"userErrors":[{', 1, true) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("%s %d\\n", total))
end
"""


def lua_script(spec: LoadSpec) -> str:
    path = f'local path = "{spec.path}"\n'
    bodies = spec.bodies
    if isinstance(bodies, Get):
        script = f'wrk.method = "GET"\nwrk.path = {_lua_string(spec.path.encode())}\n' + "".join(
            f"wrk.headers[{_lua_string(name.encode())}] = {_lua_string(value.encode())}\n"
            for name, value in bodies.headers
        )
    elif isinstance(bodies, Fixed):
        script = (
            f'wrk.method = "POST"\nwrk.path = "{spec.path}"\n'
            f'wrk.headers["Content-Type"] = "application/json"\nwrk.body = {_lua_string(bodies.body)}\n'
        )
    elif isinstance(bodies, Unique):
        head, tail = bodies.template.split(NONCE_PLACEHOLDER.encode())
        script = (
            _HEADERS
            + path
            + f"local counter = {next_nonce_start()}\n"
            + f"local head, tail = {_lua_string(head)}, {_lua_string(tail)}\n"
            + "function request()\n  counter = counter + 1\n"
            + '  local body = head .. string.format("%d", counter) .. tail\n'
            + '  return wrk.format("POST", path, headers, body)\nend\n'
        )
    else:
        sequences = ",\n".join(
            "{" + ", ".join(_lua_string(body) for body in sequence) + "}" for sequence in bodies.sequences
        )
        script = (
            _HEADERS
            + path
            + f"local sequences = {{\n{sequences}\n}}\n"
            + "local position = 0\n"
            + "function request()\n  local sequence = sequences[index]\n"
            + "  position = position % #sequence + 1\n"
            + '  return wrk.format("POST", path, headers, sequence[position])\nend\n'
        )
    if checks_answers(spec):
        script += _CHECK.replace("%s %d", f"{BAD_ANSWERS_MARK} %d")
    return script


class Wrk:
    name = "wrk"

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def run(self, url: str, spec: LoadSpec, seconds: float) -> LoadResult:
        threads = spec.connections if isinstance(spec.bodies, PerConnection) else 1
        with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-", delete=False) as handle:
            handle.write(lua_script(spec))
            script = Path(handle.name)
        command = [
            "taskset", "-c", str(GENERATOR_CPU), self.executable,
            f"-t{threads}", f"-c{spec.connections}", f"-d{seconds:g}s", "--timeout", "30s", "--latency",
            "-s", str(script), url + spec.path,
        ]  # fmt: skip
        try:
            # taskset execs wrk in the same process, so wait4 gives wrk's own CPU time.
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert process.stdout is not None
            try:
                output = process.stdout.read().decode()
            except BaseException:
                process.kill()  # interrupted: do not leave wrk running
                raise
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            script.unlink()
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
        return parse_output(output, usage.ru_utime + usage.ru_stime, checks_answers(spec))


def checks_answers(spec: LoadSpec) -> bool:
    return spec.check_answers or isinstance(spec.bodies, PerConnection)


def parse_output(output: str, cpu_seconds: float, checked: bool) -> LoadResult:
    summary = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output)
    if summary is None:
        raise RuntimeError(f"no request count in wrk's output:\n{output}")
    requests = int(summary.group(1))
    seconds = float(summary.group(2)) * UNITS_MS[summary.group(3)] / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    bad = re.search(rf"^{BAD_ANSWERS_MARK} (\d+)$", output, re.MULTILINE)
    if checked and bad is None:
        raise RuntimeError(f"wrk's script did not report its count of bad answers:\n{output}")
    return LoadResult(
        requests=requests,
        seconds=seconds,
        p50_ms=_percentile(output, "50"),
        p90_ms=_percentile(output, "90"),
        p99_ms=_percentile(output, "99"),
        generator_cpu_seconds=cpu_seconds,
        failures=(int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in socket.groups()) if socket else 0),
        bad_answers=int(bad.group(1)) if bad else None,
    )


def _percentile(output: str, share: str) -> float:
    match = re.search(rf"^\s+{share}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {share}th percentile in wrk's output:\n{output}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]
