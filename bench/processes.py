"""Starting, pinning and stopping the processes the benchmark measures.

The application server runs as users run it: `python main.py serve --port P`, one worker, with
DATABASE_URL unset so it starts its embedded PostgreSQL under a fresh DATA_DIR and seeds the demo
catalog. PostgreSQL is started by `pg_ctl` and daemonised (its own process tree, not the server's
children). Only the uvicorn Python process (every thread of it) is pinned, to SERVER_CPU, after it
is ready; PostgreSQL keeps both cores, as it would on a real two-core host.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = 0
GENERATOR_CPU = 1
READY_TIMEOUT = 300.0
STOP_TIMEOUT = 60.0
# Settings that would take the server away from how users first run it, and the value that
# stands for "unset" when ./.env sets them (the environment wins over the file).
UNSET = {"DATABASE_URL": "", "STRIPE_SECRET_KEY": "", "STRIPE_API_BASE": "", "DEBUG": "false"}


@dataclass(frozen=True)
class Postgres:
    postmaster_pid: int
    socket_dir: str
    port: int
    pgdata: str

    def dsn(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Postgres:
        lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
        return cls(postmaster_pid=int(lines[0]), port=int(lines[3]), socket_dir=lines[4], pgdata=lines[1])

    def processes(self) -> list[psutil.Process]:
        try:
            postmaster = psutil.Process(self.postmaster_pid)
            return [postmaster, *postmaster.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


@dataclass(frozen=True)
class AppServer:
    process: subprocess.Popen[bytes]
    url: str
    postgres: Postgres
    log: Path
    worker: subprocess.Popen[bytes] | None = None  # the job worker, when it runs apart (`--job-worker`)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(pid: int, cpus: set[int]) -> None:
    """Pin every thread of a process (threads it starts later inherit the pinning)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task), cpus)


def server_environment(data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update({"DATA_DIR": str(data_dir), "WORKERS": "1", "LOG_LEVEL": "warning"})
    # The default, stated: the checkout workload's buyers each come from their own X-Forwarded-For
    # address, which the server believes only from a trusted proxy (here, the benchmark on loopback).
    env["FORWARDED_ALLOW_IPS"] = "127.0.0.1"
    dotenv = ROOT / ".env"
    if dotenv.exists():
        names = {line.split("=", 1)[0].strip() for line in dotenv.read_text().splitlines() if "=" in line}
        env.update({name: value for name, value in UNSET.items() if name in names})
    return env


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited with {process.returncode}\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {READY_TIMEOUT:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then wait; SIGKILL only if it will not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_postgres(postgres: Postgres) -> None:
    """The server stops its PostgreSQL as it exits; if it could not, stop it here (fast shutdown)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        postmaster = psutil.Process(postgres.postmaster_pid)
        if postmaster.name() != "postgres" or postgres.pgdata not in postmaster.cmdline():
            return  # stopped, and its pid since given to another process
        try:
            postmaster.wait(timeout=10)
            return
        except psutil.TimeoutExpired:
            pass
        postmaster.send_signal(signal.SIGINT)
        try:
            postmaster.wait(timeout=30)
        except psutil.TimeoutExpired:
            postmaster.send_signal(signal.SIGQUIT)
            postmaster.wait(timeout=10)


@contextlib.contextmanager
def app_server(data_dir: Path, log: Path, job_worker: str = "in-process") -> Iterator[AppServer]:
    """`job_worker`: "in-process" (the demo's `RUN_WORKER` on), or "separate": `RUN_WORKER=off` and
    `python main.py worker` beside the server, as deployed (compose.yaml), pinned to GENERATOR_CPU
    so that the server's core is the server's (it joins the server's embedded PostgreSQL)."""
    env = server_environment(data_dir)
    if job_worker == "separate":
        env["RUN_WORKER"] = "off"
    # `migrate` creates the database (and stops its PostgreSQL on exit), so pg_stat_statements can be
    # preloaded when `serve` starts PostgreSQL again.
    migrate = subprocess.run(
        [sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"`main.py migrate` failed:\n{migrate.stdout}{migrate.stderr}")
    with (data_dir / "pgdata" / "postgresql.conf").open("a") as conf:
        conf.write("\n# added by the benchmark\nshared_preload_libraries = 'pg_stat_statements'\n")
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches the benchmark, which stops the server in order
        )
    postgres: Postgres | None = None
    worker: subprocess.Popen[bytes] | None = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url + "/readyz", process, log)
        postgres = Postgres.from_data_dir(data_dir)
        pin(process.pid, {SERVER_CPU})
        if job_worker == "separate":
            worker = _start_worker(env, log.with_name("worker.log"))
        yield AppServer(process=process, url=url, postgres=postgres, log=log, worker=worker)
    finally:
        if worker is not None:
            stop(worker)
        stop(process)
        if postgres is None and (data_dir / "pgdata" / "postmaster.pid").exists():
            with contextlib.suppress(ValueError, IndexError, OSError):
                postgres = Postgres.from_data_dir(data_dir)
        if postgres is not None:
            stop_postgres(postgres)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "main.py", "worker"],
            cwd=ROOT,
            env={**env, "LOG_LEVEL": "info"},  # its start line; per job it logs nothing at info here
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while "job worker running" not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            stop(worker)
            raise RuntimeError(f"`main.py worker` did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    pin(worker.pid, {GENERATOR_CPU})
    return worker


@contextlib.contextmanager
def ceiling_server(arguments: list[str], ready_body: bytes) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A ceiling of bench/ceiling.py under uvicorn with the server's settings, pinned like it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.ceiling", *arguments, "--port", str(port)],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_post(url + "/graphql", ready_body, process)
        pin(process.pid, {SERVER_CPU})
        yield url, process
    finally:
        stop(process)


def _wait_post(url: str, body: bytes, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited with {process.returncode}")
        try:
            answer = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=5)
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {READY_TIMEOUT:g} s")
