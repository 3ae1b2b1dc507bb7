"""uvicorn's WebSocket protocol as the server runs it: text messages framed directly.

uvicorn's websockets-sansio protocol sends every message through websockets' sans-I/O
`Protocol.send_text`: a `Frame` object, checked, serialised through an `io.BytesIO`, queued in
a list and joined again (`data_to_send`). A server frame is unmasked, so for a connection without
extensions (`WS_COMPRESSION` off, the default) a text frame is two to ten header bytes and the
UTF-8 payload: this subclass writes exactly that, which is most of a subscription event's cost
in uvicorn when one event goes to thousands of subscribers. Everything else (binary, close, the
handshake, a connection that is not open, compression, a paused writer, websockets' debug log)
takes uvicorn's own path. `text_frame` is checked byte for byte against websockets' `Frame`
(tests/test_ws_frames.py), and uvicorn's version against WRITTEN_FOR (core.shutdown).
"""

from __future__ import annotations

import struct
from typing import Any

from websockets.protocol import State

from core.shutdown import GoingAwayWebSocketProtocol

_TEXT_FIN = 0x81  # FIN bit and the text opcode
_SHORT = struct.Struct("!BB")
_MEDIUM = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented text frame (RFC 6455 section 5.2) carrying `payload`."""
    length = len(payload)
    if length < 126:
        return _SHORT.pack(_TEXT_FIN, length) + payload
    if length < 65536:
        return _MEDIUM.pack(_TEXT_FIN, 126, length) + payload
    return _LONG.pack(_TEXT_FIN, 127, length) + payload


class WebSocketProtocol(GoingAwayWebSocketProtocol):
    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.send" and self._frames_directly():
            text = message.get("text")
            if text is not None and message.get("bytes") is None:
                self.transport.write(text_frame(text.encode()))
                return
        await super().send(message)

    def _frames_directly(self) -> bool:
        conn = self.conn
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
            and self.writable.is_set()
            and conn.state is State.OPEN
            and not conn.extensions
            and not conn.expect_continuation_frame
            and not conn.debug
        )
