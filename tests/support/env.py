"""Where the test stack lives and what it may reach: its ports, folder and the fakes' address.

Two test sessions can run side by side with different ``USHER_TEST_PORT_OFFSET`` values (ports
and data folder). Every port is below Linux's ephemeral range (32768+), where an outgoing
connection could hold it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OFFSET = int(os.environ.get("USHER_TEST_PORT_OFFSET", "0"))
TEST_HOME = ROOT / ".usher" / (f"test-{OFFSET}" if OFFSET else "test")
MAX_UPLOAD = 48 * 1024 * 1024  # small enough to send one byte more in a test
SMTP_PORT = 12525 + OFFSET
WEBHOOK_PORT = 12580 + OFFSET
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The tests' own webhook receivers and vendor fakes listen here: the one loopback address the
# services may reach (USHER_ALLOWED_PRIVATE_HOSTS); every other stays refused, as in production.
FAKES_HOST = "127.0.0.2"
