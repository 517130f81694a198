"""Opaque, time-ordered ids (ULID layout: 48-bit milliseconds + 80 random bits, Crockford base32).

Time order keeps inserts at the right end of the primary-key index and makes "newest first"
pagination a plain index scan.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str = "") -> str:
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))
