"""Fixtures of the end-to-end tests (the stack itself is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.env import SMTP_PORT


@pytest.fixture
def smtp_server() -> Iterator[list[Any]]:
    """The SMTP server the test stack sends to (USHER_SMTP_PORT); yields what it received."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield received
    controller.stop()
