"""Rows as PostgreSQL's binary ``COPY`` stream, encoded here instead of by asyncpg.

asyncpg's ``copy_records_to_table`` encodes each value through its codec machinery: a call
into Python for each timestamptz and jsonb value (our codecs, shared.db), and abstract-base-
class checks for each array and its elements (3.5 % of the merger's samples under py-spy).
For the merger's contact rows that was 9.30 µs a row at best (the replay's 198,000 rows of 40
chunks, seven alternating runs); encoded here 7.92, the rows PostgreSQL stores being the same
(tests/integration/test_pgcopy.py reads both back equal). A timestamptz or jsonb value goes
through the same function shared.db's codec uses, so the two encodings cannot drift apart.

Only the column types the writers of people use are known (:data:`TEXT`, :data:`TIMESTAMPTZ`,
:data:`TEXT_ARRAY`, :data:`JSONB`); a value of the wrong Python type fails as asyncpg's
encoder would (``TypeError``), a string PostgreSQL refuses (a NUL) fails on the server as
it would, and a lone surrogate raises ``UnicodeEncodeError`` as it does. The stream goes out
in pieces as they are encoded (:data:`PIECE` rows each); a value refused in a later piece ends
the COPY there, as asyncpg's own COPY does when its encoder meets one, and nothing of it is
kept once the transaction is rolled back.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import asyncpg

from shared.db import encode_jsonb, timestamptz_bytes

Encoder = Callable[[Any], bytes]

_INT32 = struct.Struct("!i")
_pack32 = _INT32.pack
_HEADER = b"PGCOPY\n\xff\r\n\x00" + _pack32(0) + _pack32(0)  # signature, flags, extension
_TRAILER = b"\xff\xff"
_NULL = _pack32(-1)
_TEXT_OID = 25
_EIGHT = _pack32(8)
_ARRAYS_KEPT = 4_096  # distinct tag lists remembered in a stream (a file's lists repeat)
_TIMES_KEPT = 256
_TIMES_PROBE = 200  # a column's values looked at before deciding if it repeats (< _TIMES_KEPT)
PIECE = 256  # rows a piece of the stream (~80 KB of contact rows)


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = value.encode()
    return _pack32(len(data)) + data


def _timestamptz() -> Encoder:
    """timestamptz as shared.db encodes it, for one column: the values met lately remembered
    with their length (a batch's one ``now`` is all of created_at), unless the column's first
    :data:`_TIMES_PROBE` values (in a stream: see :func:`encoder`) were nearly all distinct
    (last_seen_at): there remembering only costs the hashing of each value (the memo's look-up
    was ~3 % of the merger's samples under py-spy)."""
    kept: dict[Any, bytes] = {}
    seen = 0
    remember = True

    def encode(value: Any) -> bytes:
        nonlocal seen, remember
        if value is None:
            return _NULL
        if not remember:
            return _EIGHT + timestamptz_bytes(value)
        data = kept.get(value)
        if data is None:
            data = _EIGHT + timestamptz_bytes(value)
            if len(kept) >= _TIMES_KEPT:
                kept.clear()
            kept[value] = data
        seen += 1
        if seen == _TIMES_PROBE and len(kept) > _TIMES_PROBE * 0.9:
            remember = False
            kept.clear()
        return data

    return encode


def _jsonb(value: Any) -> bytes:
    if value is None:
        return _NULL
    data = encode_jsonb(value)
    return _pack32(len(data)) + data


def _text_array() -> Encoder:
    """A one-dimensional text[] (empty: no dimensions, as asyncpg sends it), remembered per
    distinct list."""
    kept: dict[tuple[str, ...], bytes] = {}

    def encode(value: Sequence[str] | None) -> bytes:
        if value is None:
            return _NULL
        key = tuple(value)
        data = kept.get(key)
        if data is not None:
            return data
        if not key:
            body = _pack32(0) + _pack32(0) + _pack32(_TEXT_OID)
        else:
            parts = [_pack32(1), _pack32(0), _pack32(_TEXT_OID), _pack32(len(key)), _pack32(1)]
            if None in key:
                parts[1] = _pack32(1)  # has nulls
            parts.extend(_text(element) for element in key)
            body = b"".join(parts)
        data = _pack32(len(body)) + body
        if len(kept) >= _ARRAYS_KEPT:
            kept.clear()
        kept[key] = data
        return data

    return encode


TEXT, TIMESTAMPTZ, TEXT_ARRAY, JSONB = "text", "timestamptz", "text[]", "jsonb"
_MAKERS: dict[str, Callable[[], Encoder]] = {
    TEXT: lambda: _text,
    TIMESTAMPTZ: _timestamptz,
    TEXT_ARRAY: _text_array,
    JSONB: lambda: _jsonb,
}


def encoder(types: Sequence[str]) -> Callable[[Iterable[Sequence[Any]]], Iterator[bytes]]:
    """A function from rows (sequences of values, one a column of ``types``) to the binary COPY
    stream, in pieces of :data:`PIECE` rows (the first with the header, the last with the
    trailer): :func:`copy_rows` sends each as it is made, so PostgreSQL stores the first rows
    while the rest are encoded. A row of another width raises ``ValueError``.

    The loop is written out for the columns, as :mod:`dataclasses` writes its methods: one
    unpacking and one join a row. Encoding alone, a loop over the columns (zip, an append a
    value) took 10–14 µs a contact row, this one 6–7 (the replay's rows, at best)."""
    scope: dict[str, Any] = {"HEADER": _HEADER, "TRAILER": _TRAILER, "PIECE": PIECE}
    scope["COUNT"] = struct.pack("!h", len(types))
    for i, type_ in enumerate(types):
        scope[f"make{i}"] = _MAKERS[type_]
    values = ", ".join(f"v{i}" for i in range(len(types)))
    encoded = ", ".join(f"e{i}(v{i})" for i in range(len(types)))
    made = "".join(f"    e{i} = make{i}()\n" for i in range(len(types)))
    source = (
        "def encode(rows):\n"
        f"{made}"  # each stream its own column encoders: what they remember starts afresh
        "    parts = [HEADER]\n"
        "    append = parts.append\n"
        f"    for ({values},) in rows:\n"
        f"        append(b''.join((COUNT, {encoded})))\n"
        "        if len(parts) >= PIECE:\n"
        "            yield b''.join(parts)\n"
        "            parts.clear()\n"
        "    append(TRAILER)\n"
        "    yield b''.join(parts)\n"
    )
    exec(source, scope)  # (the source is made above from the column count only)
    encode: Callable[[Iterable[Sequence[Any]]], Iterator[bytes]] = scope["encode"]
    return encode


async def copy_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    encode: Callable[[Iterable[Sequence[Any]]], Iterator[bytes]],
    rows: Iterable[Sequence[Any]],
    *,
    schema_name: str | None = None,
) -> None:
    """``COPY table (columns) FROM STDIN (FORMAT binary)`` with ``rows`` as ``encode`` (an
    :func:`encoder` for the columns' types) makes them, each piece sent as it is made. A value
    of the wrong type raises ``TypeError``, as asyncpg's own COPY does (it ends the COPY, as
    asyncpg's does when it meets one: the transaction is to be rolled back)."""

    async def stream() -> AsyncIterator[bytes]:
        try:
            for piece in encode(rows):
                yield piece
        except AttributeError as exc:  # a text that is not a str (it has no .encode)
            raise TypeError(f"expected str in a text column of {table}: {exc}") from exc

    await conn.copy_to_table(
        table, source=stream(), columns=list(columns), schema_name=schema_name, format="binary"
    )
