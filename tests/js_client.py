"""The `graphql-ws` reference client (JavaScript), run by Node from the tests: tests/js/subscribe.mjs.

Node and the packages of tests/js (installed by scripts/bootstrap with `npm ci`) are required:
without them the test fails and says what to install, rather than skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

JS = Path(__file__).resolve().parent / "js"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("Node.js (20 or newer) is needed to run the graphql-ws reference client: install it")
    if not (JS / "node_modules" / "graphql-ws").is_dir():
        pytest.fail(f"the JavaScript test clients are not installed in {JS}: run scripts/bootstrap (npm ci)")
    return found


class NodeSubscription:
    """One subscription followed by the reference client in a Node process; read what it saw."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []

    @classmethod
    async def start(
        cls,
        http_url: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        connection_params: dict[str, Any] | None = None,
        events: int = 1,
    ) -> NodeSubscription:
        config = {
            "url": http_url.replace("http://", "ws://") + "/graphql",
            "query": query,
            "variables": variables or {},
            "connectionParams": connection_params or {},
            "events": events,
        }
        process = await asyncio.create_subprocess_exec(
            node(),
            str(JS / "subscribe.mjs"),
            orjson.dumps(config).decode(),
            cwd=JS,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def next_line(self, timeout: float = 10) -> dict[str, Any]:
        """The next thing the client reported: {"next": ...}, {"error": ...}, {"complete": ...} or {"closed": ...}."""
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            stderr = await self.process.stderr.read() if self.process.stderr else b""
            raise AssertionError(f"the Node client exited ({self.process.returncode}): {stderr.decode()}")
        line = orjson.loads(raw)
        self.lines.append(line)
        return line

    async def next_result(self, timeout: float = 10) -> dict[str, Any]:
        line = await self.next_line(timeout)
        assert "next" in line, f"expected a result, the client saw {line} (before: {self.lines[:-1]})"
        return line["next"]

    async def finish(self, timeout: float = 10) -> int:
        """Wait for the client to exit by itself; its exit status."""
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
