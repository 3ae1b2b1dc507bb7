"""A small GraphQL-over-WebSocket client for the tests, speaking both subprotocols."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class GraphQLWebSocket:
    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol
        self._ids = itertools.count(1)

    @classmethod
    async def open(
        cls, http_url: str, *, token: str | None = None, protocol: str = TRANSPORT_WS, init: bool = True
    ) -> GraphQLWebSocket:
        url = http_url.replace("http://", "ws://") + "/graphql"
        connection = await connect(url, subprotocols=[protocol])  # type: ignore[list-item]
        client = cls(connection, protocol)
        if init:
            payload = {"authorization": f"Bearer {token}"} if token else {}
            await client.send({"type": "connection_init", "payload": payload})
            ack = await client.receive()
            assert ack["type"] == "connection_ack", ack
        return client

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.connection.recv(), timeout)
            # Both protocols carry JSON in text frames; a browser would get a Blob from a binary one.
            assert isinstance(frame, str), f"a binary frame: {frame!r}"
            message = orjson.loads(frame)
            if message.get("type") not in ("ka", "ping", "pong"):
                return message
            if message.get("type") == "ping":
                await self.send({"type": "pong"})

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"type": kind, "id": operation_id, "payload": {"query": query, "variables": variables or {}}}
        )
        return operation_id

    async def next_payload(self, timeout: float = 5) -> dict[str, Any]:
        """The next result: `{"data": ...}` or `{"errors": [...]}`."""
        message = await self.receive(timeout)
        if message["type"] in ("next", "data"):
            return message["payload"]
        if message["type"] == "error":
            payload = message["payload"]
            return {"errors": payload if isinstance(payload, list) else [payload]}
        raise AssertionError(f"unexpected message {message}")

    async def nothing_before(
        self, marker: str | Callable[[dict[str, Any]], bool], timeout: float = 5
    ) -> bool:
        """Whether the next message is the marker, sent after whatever must not arrive: nothing came first.

        `marker` is the id of an operation started as the marker, or a test that recognises the marker
        among results (`{"data": ...}`). Showing that something does not happen this way waits for an
        event rather than for an arbitrary time.
        """
        message = await self.receive(timeout)
        if isinstance(marker, str):
            assert message.get("id") == marker, f"expected nothing before the marker, got {message}"
            return True
        assert message["type"] in ("next", "data"), f"expected nothing before the marker, got {message}"
        assert marker(message["payload"]), f"expected nothing before the marker, got {message}"
        return True

    async def close(self) -> None:
        await self.connection.close()
