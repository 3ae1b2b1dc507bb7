"""The command line as users run it: `serve` on the embedded database, and the other commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "TEST_DATABASE_URL"}
    }
    env.update({"DATA_DIR": str(data_dir), "LOG_LEVEL": "warning", **extra})
    return env


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


@pytest.fixture
def data_dir(pg_data_dir: Path) -> Path:
    return pg_data_dir


def postmaster_running(data_dir: Path) -> bool:
    return (data_dir / "pgdata" / "postmaster.pid").exists()


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "main.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=command_env(data_dir),
    )


def stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    process.send_signal(sig)
    return process.wait(timeout=60)


def test_serve_starts_the_embedded_database_seeds_it_and_stops_it(data_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(data_dir, port)
    try:
        wait_ready(url, process)
        body = httpx.post(f"{url}/graphql", json={"query": "{ products(first: 1) { totalCount } }"}).json()
        assert body["data"]["products"]["totalCount"] == 320
        assert postmaster_running(data_dir)

        # A command run beside the server works on the same running database.
        seeded = subprocess.run(
            [sys.executable, "main.py", "seed"],
            cwd=ROOT,
            env=command_env(data_dir),
            capture_output=True,
            text=True,
        )
        assert seeded.returncode == 0, seeded.stderr
        assert "0 product(s) added" in seeded.stdout
        assert postmaster_running(data_dir), "the command left the server's database running"
    finally:
        assert stop(process, signal.SIGTERM) == 0
    assert not postmaster_running(data_dir), "SIGTERM stops the embedded database"

    # A second serve on the same DATA_DIR reuses the data.
    process = serve(data_dir, port)
    try:
        wait_ready(url, process)
        body = httpx.post(f"{url}/graphql", json={"query": "{ products(first: 1) { totalCount } }"}).json()
        assert body["data"]["products"]["totalCount"] == 320
    finally:
        stop(process, signal.SIGINT)
    assert not postmaster_running(data_dir), "Ctrl-C stops the embedded database"


def test_migrate_and_seed_run_alone_and_stop_their_database(data_dir: Path) -> None:
    migrate = subprocess.run(
        [sys.executable, "main.py", "migrate"],
        cwd=ROOT,
        env=command_env(data_dir),
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert not postmaster_running(data_dir)
    seed = subprocess.run(
        [sys.executable, "main.py", "seed", "--products", "40"],
        cwd=ROOT,
        env=command_env(data_dir),
        capture_output=True,
        text=True,
    )
    assert seed.returncode == 0, seed.stderr
    assert "40 product(s) added" in seed.stdout
    assert not postmaster_running(data_dir)


def test_export_schema_writes_the_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    result = subprocess.run(
        [sys.executable, "main.py", "export-schema", "--output", str(target)],
        cwd=ROOT,
        env=command_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (ROOT / "schema.graphql").read_text()


async def test_create_staff_creates_then_promotes(
    client: httpx.AsyncClient, database_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.support import graphql

    login = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
        user { email isStaff } userErrors { code } } }"""

    def create_staff(email: str, password: str | None) -> subprocess.CompletedProcess[str]:
        # The server's DATA_DIR: the command must find e-mails by the same blind-index key (core/pii.py).
        env = command_env(tmp_path / "data", **database_env)
        if password is not None:
            env["STAFF_PASSWORD"] = password
        return subprocess.run(
            [sys.executable, "main.py", "create-staff", email],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    created = create_staff("  Boss@Example.com ", "staff password 1")
    assert created.returncode == 0, created.stderr
    assert "created staff user boss@example.com" in created.stdout
    body = await graphql(client, login, {"e": "boss@example.com", "p": "staff password 1"})
    assert body["data"]["login"]["user"] == {"email": "boss@example.com", "isStaff": True}

    await graphql(
        client,
        'mutation { register(email: "clerk@example.com", password: "clerk password", name: "Clerk") { userErrors { code } } }',
    )
    promoted = create_staff("clerk@example.com", None)
    assert promoted.returncode == 0, promoted.stderr
    assert "promoted staff user clerk@example.com" in promoted.stdout
    body = await graphql(client, login, {"e": "clerk@example.com", "p": "clerk password"})
    assert body["data"]["login"]["user"]["isStaff"] is True

    weak = create_staff("new@example.com", "short")
    assert weak.returncode != 0 and "password" in weak.stderr.lower()
    assert "short" not in weak.stderr
