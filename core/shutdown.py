"""Graceful shutdown: WebSockets are closed with 1001 (going away) so that clients reconnect to
another process, rather than uvicorn's 1012.

On SIGTERM uvicorn stops accepting, asks every connection to shut down (an idle HTTP connection
closes, a request in flight finishes), waits up to SHUTDOWN_TIMEOUT seconds for the requests in
flight, then runs the application's shutdown (the LISTEN connection, the job worker, the pools).
Its WebSocket protocol's `shutdown` is the one place that picks the close code: this subclass
picks 1001. Written for the uvicorn in WRITTEN_FOR (tests/test_rolling_restart.py checks it).
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

WRITTEN_FOR = {"uvicorn": "0.54.0"}
GOING_AWAY = 1001
WS_PROTOCOL = "core.shutdown:GoingAwayWebSocketProtocol"


class GoingAwayWebSocketProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        self.stop_keepalive()
        if self.close_sent:
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self.transport.close()
            return
        if self.handshake_complete:
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down")
            output = self.conn.data_to_send()
            self.transport.write(b"".join(output))
        else:
            self.send_500_response()
        self.transport.close()
