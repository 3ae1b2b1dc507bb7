"""The container image and the compose file: built and smoke-tested where a container engine
runs on the machine; elsewhere the test says so and skips. Their shape is checked everywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import httpx
import pytest
import yaml

from tests.support import ROOT, free_port


def test_the_image_is_multi_stage_non_root_and_locked() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2, "multi-stage"
    assert "requirements.lock" in dockerfile and "--constraint requirements.lock" in dockerfile
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "\nUSER storefront" in final_stage and "apt-get" not in final_stage and "gcc" not in final_stage
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".data", ".env"} <= set(ignored)


def test_compose_runs_postgres_two_api_processes_and_a_worker() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "api-1", "api-2", "worker"} <= services.keys()
    assert services["worker"]["command"] == ["python", "main.py", "worker"]
    for name in ("api-1", "api-2", "worker"):
        assert services[name]["environment"]["RUN_WORKER"] == "off"
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def _container_engine() -> list[str] | None:
    for engine in ("docker", "podman"):
        if shutil.which(engine):
            probe = subprocess.run([engine, "info"], capture_output=True, timeout=30, check=False)
            if probe.returncode == 0:
                return [engine]
    return None


def test_the_image_builds_and_the_compose_stack_serves() -> None:
    engine = _container_engine()
    if engine is None:
        pytest.skip(
            "no container engine runs on this machine (docker/podman info fails): image not built here"
        )
    project = f"storefront-smoke-{uuid.uuid4().hex[:8]}"
    ports = [free_port(), free_port()]
    env = {
        **os.environ,
        "JWT_SECRET": uuid.uuid4().hex,
        "STRIPE_WEBHOOK_SECRET": f"whsec_{uuid.uuid4().hex}",
        "PAYMENT_SANDBOX": "on",
        "API_1_PORT": str(ports[0]),
        "API_2_PORT": str(ports[1]),
    }
    compose = [*engine, "compose", "-p", project, "-f", str(ROOT / "compose.yaml")]
    try:
        subprocess.run([*compose, "up", "-d", "--build"], env=env, check=True, timeout=1200)
        deadline = time.monotonic() + 180
        for port in ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the API process did not become ready"
                time.sleep(1)
            answer = httpx.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=10
            )
            assert answer.json() == {"data": {"__typename": "Query"}}
        uid = subprocess.run(
            [*compose, "exec", "-T", "api-1", "id", "-u"], env=env, capture_output=True, text=True, check=True
        )
        assert uid.stdout.strip() != "0", "the API runs as a user without root rights"
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, check=False, timeout=300)
