"""Limits on what a client may do to the HTTP connection itself, before any route runs.

uvicorn's httptools protocol accepts request headers of any size and count (httptools gathers a
header in memory until it ends) and waits forever for a request's headers or body. A public
server must not, even without a proxy in front, so this subclass of it:

- answers 431 and closes when the request line and headers pass HTTP_MAX_HEADER_BYTES, or their
  count passes HTTP_MAX_HEADERS (memory held: the limit plus one read of at most 256 KB);
- answers 408 and closes when a request's headers have not all arrived HTTP_HEADER_TIMEOUT
  seconds after its first byte (or after the connection opened), or its body HTTP_BODY_TIMEOUT
  seconds after its headers; the application then sees the client disconnect.

Idle keep-alive connections close after HTTP_KEEP_ALIVE_TIMEOUT (uvicorn's timeout_keep_alive).
The protocol also sends each response's head and body in one system call (`CorkedTransport`).
Both `serve` and the test suite start uvicorn with `uvicorn_options`, so tests exercise these
limits as users get them. This module is the one place that knows uvicorn's protocol internals
(its httptools parser callbacks and the `loop`, `transport`, `parser` and `cycle` they work on),
written for the version in WRITTEN_FOR (pinned in pyproject.toml); tests/test_library_internals.py
fails loudly when they change, and tests/test_http_limits.py checks the behaviour.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.settings import Settings, get_settings
from core.shutdown import WS_PROTOCOL

WRITTEN_FOR = {"uvicorn": "0.54.0"}

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


@dataclass(slots=True, frozen=True)
class HttpLimits:
    max_header_bytes: int = 16_384
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.http_max_header_bytes,
            max_headers=settings.http_max_headers,
            header_timeout=settings.http_header_timeout,
            body_timeout=settings.http_body_timeout,
            keep_alive_timeout=settings.http_keep_alive_timeout,
        )


class CorkedTransport:
    """The connection's transport, with what one task step writes sent in one system call.

    uvicorn writes a response's head when the application starts it and its body when it sends
    it: two `send` calls for every answer, where one would do (a system call is a large part of a
    small cached answer's CPU). Writes are held until the event loop's next pass (or until 64 KB
    are held, or the connection closes, or its protocol changes) and then leave together, in order,
    with `writelines`. Everything else is the transport's own."""

    __slots__ = ("_held", "_held_bytes", "_loop", "_passthrough", "_transport")

    HOLD_AT_MOST = 65_536

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._held_bytes = 0
        self._passthrough = False

    def write(self, data: bytes) -> None:
        if self._passthrough:
            self._transport.write(data)
            return
        if self._held is None:
            self._held, self._held_bytes = [data], len(data)
            self._loop.call_soon(self.flush)
        else:
            self._held.append(data)
            self._held_bytes += len(data)
        if self._held_bytes >= self.HOLD_AT_MOST:
            self.flush()

    def writelines(self, data: Any) -> None:
        for piece in data:
            self.write(piece)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            if len(held) == 1:
                self._transport.write(held[0])
            else:
                self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (self._held_bytes if self._held else 0)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        # A WebSocket upgrade: its protocol writes straight through from here on.
        self.flush()
        self._passthrough = True
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Refused(Exception):
    """Stops the parser; the refusal to send is on the protocol."""


class GuardedHttpProtocol(HttpToolsProtocol):
    # Read from the environment in `serve --workers N`'s worker processes, which import this
    # class by name; `protocol_class` binds other limits.
    limits: ClassVar[HttpLimits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self).limits is None:
            type(self).limits = HttpLimits.from_settings(get_settings())
        self._limits: HttpLimits = type(self).limits  # type: ignore[assignment]
        self._in_headers = True
        self._header_bytes = 0  # of the request line and the headers parsed so far
        self._pending_bytes = 0  # received since the request began, while its headers are incomplete
        self._header_count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0  # when the timer fires
        self._deadline: float | None = None  # when the current phase times out (None: no limit now)
        self._reason = ""
        self._refusal: tuple[int, str] | None = None

    # ---------------------------------------------------------------- timers

    # One timer per connection, moved by deadline: arming for a phase only sets the deadline and
    # its reason, and the timer, when it fires early, waits again for the rest. A request then costs
    # no timer of its own (libuv timers made and cancelled three times per request showed up in
    # the cached path's profile).
    def _arm(self, seconds: float, reason: str) -> None:
        deadline = self.loop.time() + seconds
        self._deadline, self._reason = deadline, reason
        if self._timer is None or self._timer_at > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self.loop.call_at(deadline, self._check_deadline)

    def _disarm(self) -> None:
        self._deadline = None

    def _cancel_timer(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_deadline(self) -> None:
        self._timer = None
        if self._deadline is None:
            return
        if self.loop.time() < self._deadline:
            self._timer_at = self._deadline
            self._timer = self.loop.call_at(self._deadline, self._check_deadline)
            return
        self._deadline = None
        self._time_out(self._reason)

    def _time_out(self, reason: str) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self._in_headers:
            self.cycle.keep_alive = False
            if self.cycle.response_started:  # the application answers without the body: just close
                self.transport.close()
                return
        self._send_refusal(408, reason)

    # ---------------------------------------------------------------- protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CorkedTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm(self._limits.header_timeout, "The request headers took too long.")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        if self._in_headers and self._pending_bytes > self._limits.max_header_bytes:
            self._refuse_headers()  # a header still arriving: httptools would keep it all in memory
            return
        super().data_received(data)
        if self._in_headers and self._refusal is None:
            self._pending_bytes += len(data)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:  # a parser callback refused the request
            self._send_refusal(*self._refusal)
            return
        super().send_400_response(msg)

    # ---------------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_count = self._header_bytes = 0
        self._arm(self._limits.header_timeout, "The request headers took too long.")

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        self._check_headers()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + 4
        self._check_headers()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_bytes = self._pending_bytes = 0
        if self.parser.should_upgrade():  # a WebSocket: its own protocol takes the connection over
            self._disarm()
        else:
            self._arm(self._limits.body_timeout, "The request body took too long.")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # ---------------------------------------------------------------- refusing

    def _check_headers(self) -> None:
        if (
            self._header_count > self._limits.max_headers
            or self._header_bytes > self._limits.max_header_bytes
        ):
            self._refusal = (431, self._headers_too_large())
            raise _Refused

    def _headers_too_large(self) -> str:
        return (
            f"At most {self._limits.max_headers} request headers of {self._limits.max_header_bytes}"
            " bytes in all are allowed."
        )

    def _refuse_headers(self) -> None:
        self._refusal = (431, self._headers_too_large())
        self._send_refusal(*self._refusal)

    def _send_refusal(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        self._cancel_timer()
        body = message.encode()
        head = (
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % (status, _REASONS[status], len(body))
        )
        self.transport.write(head + body)
        self.transport.close()


def protocol_class(limits: HttpLimits) -> type[GuardedHttpProtocol]:
    """The protocol with these limits (a subclass, for a server in this process)."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})


def uvicorn_options(settings: Settings, *, workers: int = 1) -> dict[str, Any]:
    """The HTTP options of uvicorn.Config, for `serve` and the test suite alike."""
    limits = HttpLimits.from_settings(settings)
    return {
        # Worker processes import the class by name and read the limits from the environment.
        "http": "core.http_protocol:GuardedHttpProtocol" if workers > 1 else protocol_class(limits),
        "timeout_keep_alive": limits.keep_alive_timeout,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        # permessage-deflate keeps a zlib state per WebSocket (most of a subscriber's memory) and
        # compresses every event again per subscriber, for messages of a few hundred bytes.
        "ws_per_message_deflate": settings.ws_compression,
        # SIGTERM: WebSockets closed with 1001, requests in flight given SHUTDOWN_TIMEOUT (core/shutdown.py).
        "ws": WS_PROTOCOL,
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
