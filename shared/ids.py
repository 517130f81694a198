"""Opaque, time-ordered ids: 48-bit milliseconds + 80 random bits, as 32 hex digits.

Time order keeps inserts at the right end of the primary-key index and makes "newest first"
pagination a plain index scan. The random part comes from the operating system's
cryptographic source (``os.urandom``): an id seen gives no hint of any other. It is drawn 4 KiB
at a time — one system call per 409 ids instead of one per id (``secrets.randbits``: 1.3 µs an
id against 0.65 µs, and an import creates a million) — and the buffer is dropped in a forked
child, so two processes never hand out the same bits.
"""

from __future__ import annotations

import os
import time

_DRAW = 10  # bytes of randomness an id
_BUFFER = 4096 // _DRAW * _DRAW
_random = b""
_at = _BUFFER


def _forget() -> None:
    global _random, _at
    _random, _at = b"", _BUFFER


os.register_at_fork(after_in_child=_forget)


def new_id(prefix: str = "") -> str:
    global _random, _at
    if _at == _BUFFER:
        _random, _at = os.urandom(_BUFFER), 0
    bits = _random[_at : _at + _DRAW].hex()
    _at += _DRAW
    return f"{prefix}{time.time_ns() // 1_000_000:012x}{bits}"
