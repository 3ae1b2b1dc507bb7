"""core.http_protocol.CorkedTransport: what one task step writes leaves in one call, in order,
and nothing written is held past the loop's next pass, a close, a WebSocket upgrade or 64 KB."""

from __future__ import annotations

import asyncio
from typing import Any

from core.http_protocol import CorkedTransport


class RecordingTransport(asyncio.Transport):
    """asyncio's transport interface, recording each call a socket transport would make a system call for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []
        self.closing = False
        self.protocol: asyncio.BaseProtocol | None = None

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.calls.append(("write", bytes(data)))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", [bytes(piece) for piece in list_of_data]))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol


async def next_pass() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_a_head_and_a_body_written_in_one_step_leave_together_at_the_next_pass() -> None:
    real = RecordingTransport()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    corked.write(b"{}")
    assert real.calls == [] and corked.get_write_buffer_size() == 40
    await next_pass()
    assert real.calls == [("writelines", [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", b"{}"])]
    corked.write(b"next")  # a lone write leaves as it is
    await next_pass()
    assert real.calls[1:] == [("write", b"next")]


async def test_close_sends_what_is_held_first_and_nothing_is_written_after_it() -> None:
    real = RecordingTransport()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    corked.close()
    assert real.calls == [("write", b"HTTP/1.1 408 Request Timeout\r\n\r\n"), ("close", None)]
    await next_pass()
    assert len(real.calls) == 2 and corked.is_closing()


async def test_a_large_body_is_not_held() -> None:
    real = RecordingTransport()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"head")
    corked.write(b"x" * CorkedTransport.HOLD_AT_MOST)
    assert real.calls == [("writelines", [b"head", b"x" * CorkedTransport.HOLD_AT_MOST])]


async def test_after_a_websocket_upgrade_writes_go_straight_through() -> None:
    real = RecordingTransport()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    protocol = asyncio.Protocol()
    corked.set_protocol(protocol)
    corked.write(b"frame")
    assert real.protocol is protocol
    assert real.calls == [("write", b"HTTP/1.1 101 Switching Protocols\r\n\r\n"), ("write", b"frame")]


async def test_nothing_is_sent_on_a_connection_already_closing() -> None:
    real = RecordingTransport()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"late")
    real.closing = True  # the peer went away meanwhile
    await next_pass()
    assert real.calls == []


async def test_writelines_is_held_in_order_with_the_writes_around_it() -> None:
    """Not passed through to the transport (which would send it ahead of what is held)."""
    real = RecordingTransport()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"a")
    corked.writelines([b"b", b"c"])
    corked.write(b"d")
    assert real.calls == []
    await next_pass()
    assert real.calls == [("writelines", [b"a", b"b", b"c", b"d"])]
