"""Opaque, time-ordered ids: 48-bit milliseconds + 80 random bits, as 32 hex digits.

Time order keeps inserts at the right end of the primary-key index and makes "newest first"
pagination a plain index scan. The random part comes from the operating system's
cryptographic source (``secrets``): an id seen gives no hint of any other.
"""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str = "") -> str:
    return f"{prefix}{(time.time_ns() // 1_000_000) << 80 | secrets.randbits(80):032x}"
