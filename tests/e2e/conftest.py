"""Fixtures of the end-to-end tests (the stack itself is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.mail import MailServer


@pytest.fixture
def smtp_server() -> Iterator[list[Any]]:
    """The SMTP server the test stack sends to (USHER_SMTP_PORT); yields what it received."""
    server = MailServer()
    server.start()
    yield server.received
    server.stop()
