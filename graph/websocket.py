"""GraphQL over WebSocket as both subscription protocols require, where strawberry needs help.

- A handshake that offers neither `graphql-transport-ws` nor the legacy `graphql-ws` is refused
  with an HTTP answer (400) instead of being accepted and then closed.
- The legacy protocol closes a connection that sends no `connection_init` in time (4408), after
  the same wait as `graphql-transport-ws`; strawberry's legacy handler would wait forever.
- Both protocols carry JSON in text frames; strawberry's adapter sends the view's bytes as binary.
- A subscription event shared by many subscribers (graph.shared_events: one execution, the same
  `data` object for each) is serialised once; each subscriber's message wraps that same text.
- Once one subscriber's event has gone out through strawberry's own path as a message that is
  only `data`, the others with the same share key are sent the same message from their own
  operation's task (`shared_event_sender`), without strawberry's and graphql-core's per-result work
  (five extensions' hooks, the per-event executor, `ExecutionResult`): what strawberry would have
  sent them, in the same task, so in the same order relative to the operation's other messages.

What this relies on of strawberry's handler and adapter classes goes through graph.library_internals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from graph.library_internals import (
    LegacyWSHandlerBase,
    TransportWSHandlerBase,
    WebSocketAdapterBase,
    adapter_websocket,
    handler_init_wait,
    handler_websocket,
    send_legacy_data,
    send_transport_next,
)
from graph.shared_events import shared_data

SUBPROTOCOLS = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL)
INIT_TIMEOUT_CODE = 4408
SERIALISED_KEPT = 64

# id(data) -> (data, its JSON text): the object is held, so its id cannot be reused meanwhile.
_serialised: OrderedDict[int, tuple[object, str]] = OrderedDict()


def serialised_data(data: object) -> str:
    """The JSON text of an event's `data`, made once for every subscriber handed the same object."""
    kept = _serialised.get(id(data))
    if kept is not None and kept[0] is data:
        return kept[1]
    text = orjson.dumps(data).decode()
    _serialised[id(data)] = (data, text)
    while len(_serialised) > SERIALISED_KEPT:
        _serialised.popitem(last=False)
    return text


def _sent_as_plain_data(data: object) -> bool:
    """Whether `data` went out (recently) as a message that was only `data` (`message_text`)."""
    kept = _serialised.get(id(data))
    return kept is not None and kept[0] is data


def message_text(message: Any) -> str:
    """A protocol message as JSON text; a result that is only `data` reuses that data's text."""
    payload = message.get("payload") if isinstance(message, dict) else None
    if (
        message.get("type") in ("next", "data")
        and isinstance(payload, dict)
        and payload.keys() == {"data"}
        and isinstance(payload["data"], dict)
        and message.keys() == {"id", "type", "payload"}
    ):
        head = orjson.dumps({"id": message["id"], "type": message["type"]}).decode()
        return f'{head[:-1]},"payload":{{"data":{serialised_data(payload["data"])}}}}}'
    return orjson.dumps(message).decode()


# ---------------------------------------------------------------- shared events, sent once built

# What sends a result that is only `data` to the operation whose task this is (both protocols).
_send_data: ContextVar[Callable[[Any], Awaitable[Any]] | None] = ContextVar("ws_send_data", default=None)


class SharedEventSender:
    """Sends a subscription its share of an event that another subscriber's execution built."""

    __slots__ = ("_send",)

    def __init__(self, send: Callable[[Any], Awaitable[Any]]) -> None:
        self._send = send

    @staticmethod
    def built(key: Hashable | None) -> Any | None:
        """The `data` shared under `key` once strawberry's own path has sent it to a subscriber as
        a message that was only `data` (what it sends every subscriber with that key); else None."""
        data = shared_data(key)
        return data if data is not None and _sent_as_plain_data(data) else None

    async def send(self, data: Any) -> bool:
        """Send the protocol's `next` (or legacy `data`) message; False if the client has gone."""
        try:
            await self._send(data)
        except WebSocketDisconnected:
            return False
        return True


def shared_event_sender() -> SharedEventSender | None:
    """In a WebSocket operation's own task: its sender of shared events; None anywhere else (HTTP,
    in-process execution)."""
    send = _send_data.get()
    return None if send is None else SharedEventSender(send)


class TransportWSHandler(TransportWSHandlerBase[Any, Any]):
    """`graphql-transport-ws`, telling each operation's task how its `next` messages are sent."""

    async def run_operation(self, operation: Any) -> None:
        _send_data.set(lambda data: send_transport_next(operation, data))  # in the operation's task
        await super().run_operation(operation)


class SubprotocolRequired:
    """ASGI wrapper: refuse a WebSocket handshake that offers none of `SUBPROTOCOLS`."""

    def __init__(self, app: ASGIApp, subprotocols: tuple[str, ...] = SUBPROTOCOLS) -> None:
        self.app = app
        self.subprotocols = subprotocols

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        offered = scope.get("subprotocols") or []
        if scope["type"] != "websocket" or any(protocol in self.subprotocols for protocol in offered):
            await self.app(scope, receive, send)
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            listed = " or ".join(self.subprotocols)
            response = PlainTextResponse(
                f"GraphQL over WebSocket needs the subprotocol {listed} (Sec-WebSocket-Protocol).\n",
                status_code=400,
            )
            await response(scope, receive, send)
        else:  # a server without the denial extension answers a close before accept with 403
            await send({"type": "websocket.close", "code": 1002})


class LegacyGraphQLWSHandler(LegacyWSHandlerBase[Any, Any]):
    """The legacy protocol, closing a connection that is not initialised within the view's timeout."""

    init_received = False

    async def handle(self) -> None:
        timer = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        _send_data.set(lambda data: send_legacy_data(self, operation_id, data))  # in the operation's task
        await super().handle_async_results(operation_id, query, operation_name, variables)

    async def handle_connection_init(self, message: Any) -> None:
        self.init_received = True
        await super().handle_connection_init(message)

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(handler_init_wait(self))
        if not self.init_received:
            with contextlib.suppress(WebSocketDisconnected, RuntimeError):
                await handler_websocket(self).close(
                    code=INIT_TIMEOUT_CODE, reason="Connection initialisation timeout"
                )


class TextFrameWebSocketAdapter(WebSocketAdapterBase):
    """Sends each message as JSON in a text frame, as both subscription protocols require."""

    async def send_json(self, message: Any) -> None:
        try:
            await adapter_websocket(self).send_text(message_text(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc
