"""The mail server the test stack sends to (``USHER_SMTP_PORT``), on loopback: it keeps what it
receives, and starts when the test says so (a test of failed sends starts it late)."""

from __future__ import annotations

from typing import Any

from tests.support.env import SMTP_PORT


class MailServer:
    def __init__(self) -> None:
        self.received: list[Any] = []  # aiosmtpd envelopes, in the order they arrived
        self.controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        received = self.received

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                received.append(envelope)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=SMTP_PORT)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
