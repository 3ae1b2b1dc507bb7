"""The server's own text framing (core.ws_protocol) against websockets' Frame, byte for byte."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from core.http_protocol import uvicorn_options
from core.settings import Settings
from core.shutdown import GoingAwayWebSocketProtocol
from core.ws_protocol import WebSocketProtocol, text_frame


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_a_text_frame_is_what_websockets_would_send(length: int) -> None:
    payload = ("é" * length).encode()[:length]
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)


def test_the_server_runs_the_direct_framing_protocol() -> None:
    module, name = uvicorn_options(Settings())["ws"].split(":")
    assert (module, name) == (WebSocketProtocol.__module__, WebSocketProtocol.__name__)
    assert issubclass(WebSocketProtocol, GoingAwayWebSocketProtocol)
