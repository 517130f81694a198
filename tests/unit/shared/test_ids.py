"""shared.ids: 48-bit milliseconds + 80 random bits as 32 hex digits, unique across a fork."""

from __future__ import annotations

import os
import re
import time

from shared import ids

_ID = re.compile(r"c_[0-9a-f]{32}")


def test_ids_are_unique_hex_and_time_ordered() -> None:
    before = time.time_ns() // 1_000_000
    made = [ids.new_id("c_") for _ in range(5_000)]  # more than one buffer of randomness
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == len(made)
    assert all(_ID.fullmatch(i) for i in made)
    stamps = [int(i[2:14], 16) for i in made]
    assert stamps == sorted(stamps)
    assert before <= stamps[0] and stamps[-1] <= after


def test_a_forked_child_draws_its_own_bits() -> None:
    ids.new_id()  # the parent holds a buffer
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, " ".join(ids.new_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [ids.new_id() for _ in range(50)]
    assert {i[12:] for i in child}.isdisjoint(i[12:] for i in parent)
