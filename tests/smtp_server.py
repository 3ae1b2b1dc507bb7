"""A real SMTP server in-process (aiosmtpd, on a thread of its own) that keeps what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_next = 0  # answer DATA with a temporary failure this many times
        self.hold = threading.Event()  # while set, DATA waits (a server that hangs mid-conversation)
        self.held = threading.Event()  # set once a DATA is waiting
        self.attempts = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.attempts += 1
        while self.hold.is_set():
            self.held.set()
            await asyncio.sleep(0.05)
        with self._lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Try again later"
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
            )
        return "250 OK"

    def ids(self, kind: str | None = None) -> list[str]:
        ids = [message_id(m) for m in self.messages]
        return [i for i in ids if kind is None or i.startswith(f"<{kind}.")]


def message_id(message: EmailMessage) -> str:
    """The Message-ID, unfolded (a long one is folded onto a line of its own)."""
    return str(message["Message-ID"]).strip()


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.hold.clear()
        controller.stop()
