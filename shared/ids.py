"""Opaque, time-ordered ids: 48-bit milliseconds + 80 random bits, as 32 hex digits.

Time order keeps inserts at the right end of the primary-key index and makes "newest first"
pagination a plain index scan. The random part comes from a per-process generator seeded from
the OS (ids are identifiers, not secrets; tokens use ``secrets``).
"""

from __future__ import annotations

import random
import time

_random = random.Random()


def new_id(prefix: str = "") -> str:
    return f"{prefix}{(time.time_ns() // 1_000_000) << 80 | _random.getrandbits(80):032x}"
