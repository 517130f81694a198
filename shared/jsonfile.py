"""Reading stored JSON files record by record: a JSON array, or NDJSON (one value a line).

Used for ``POST /api/users/bulk`` bodies, ``mixpanel_file`` uploads and the snapshots remote
imports keep of what they pulled. The reader streams: memory holds one block of the file (and
the record being read), whatever the file size.

Records are numbered from 1 in file order; in NDJSON, blank lines are skipped and not counted
(like blank CSV rows). A record that is not valid JSON is an NDJSON line problem (the record
fails, the rest goes on); in a JSON array it is a :class:`~shared.errors.FileProblem`, because
nothing after a syntax error can be read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import orjson

from shared.errors import FileProblem

Format = Literal["json", "ndjson"]
BLOCK = 1 << 20  # characters read at a time
WHOLE_FILE_BYTES = 64 << 20  # JSON arrays up to this size are parsed in one go
_WHITESPACE = " \t\n\r"


# orjson reads integers up to 2**64 - 1 exactly and silently turns larger ones into floats; a
# run of 20 digits is where that can happen (it may also be inside a string: harmless).
_LONG_DIGITS = re.compile(rb"[0-9]{20}")


def loads(data: bytes) -> Any:
    """Parse one JSON text, integers exactly whatever their size (so one beyond 64 bits is
    refused by validation, not stored as a float). Raises ``orjson.JSONDecodeError``."""
    value = orjson.loads(data)
    if _LONG_DIGITS.search(data) is None:
        return value
    try:
        return json.loads(data)  # the slow path: Python's ints are exact
    except ValueError as exc:  # more than 4,300 digits in one number
        raise orjson.JSONDecodeError(f"a number is too long: {exc}", "", 0) from None


def dumps(value: Any) -> bytes:
    """One JSON text for ``value``, whatever it holds: what orjson cannot write (an integer
    beyond 64 bits, a lone surrogate) is written by Python's encoder, escaped."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=True, default=str).encode()


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One record: its number, the parsed value (``None`` with ``error``) and its text as it
    was read (``None`` when the file was parsed whole: :meth:`original` writes it again)."""

    row: int
    value: Any
    text: str | None
    error: str | None = None

    def original(self) -> str:
        """The record's JSON text, for error reports."""
        if self.text is not None:
            return self.text
        return dumps(self.value).decode()


NDJSON_TYPES = ("ndjson", "jsonl", "json-lines", "jsonlines")


def is_ndjson(content_type: str) -> bool:
    """Whether a ``Content-Type`` names NDJSON (``application/x-ndjson`` and its aliases)."""
    declared = content_type.split(";", 1)[0].strip().lower()
    return any(name in declared for name in NDJSON_TYPES)


def detect_format(path: str | Path) -> Format:
    """``json`` when the file starts with ``[``, ``ndjson`` when it starts with ``{``.

    Raises FileProblem for an empty file or anything else.
    """
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        head = f.read(4096).lstrip(_WHITESPACE)
        while not head:
            more = f.read(BLOCK)
            if not more:
                raise FileProblem("the body is empty: send a JSON array of records, or NDJSON")
            head = more.lstrip(_WHITESPACE)
    if head[0] == "[":
        return "json"
    if head[0] == "{":
        return "ndjson"
    raise FileProblem(
        "the body is not a JSON array of records nor NDJSON (one JSON object a line):"
        f" it starts with {head[:20]!r}"
    )


def iter_records(path: str | Path, fmt: Format | None = None) -> Iterator[JsonRecord]:
    """Every record of the file, in order. Raises FileProblem as the module docstring says.

    A JSON array of at most ``WHOLE_FILE_BYTES`` is parsed in one go (orjson, several times
    faster than record by record); a syntax error then fails it before its first record.
    """
    fmt = fmt or detect_format(path)
    if fmt == "json" and os.path.getsize(path) <= WHOLE_FILE_BYTES:
        yield from _whole(Path(path))
        return
    with open(path, encoding="utf-8-sig", newline="") as f:
        try:
            if fmt == "ndjson":
                yield from _ndjson(f)
            else:
                yield from _array(f)
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"the file is not UTF-8 text (byte {exc.start} of a block cannot be read):"
                " JSON must be UTF-8"
            ) from None


def _whole(path: Path) -> Iterator[JsonRecord]:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        value = loads(data)
    except orjson.JSONDecodeError as exc:
        raise FileProblem(f"the file is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise FileProblem("the file is not a JSON array: it must start with '['")
    del data
    for row, item in enumerate(value, 1):
        yield JsonRecord(row, item, None)


def _ndjson(f: TextIO) -> Iterator[JsonRecord]:
    row = 0
    for line in f:
        text = line.strip()
        if not text:
            continue
        row += 1
        try:
            value = loads(text.encode())
        except orjson.JSONDecodeError as exc:
            yield JsonRecord(row, None, text, f"record {row} is not valid JSON: {exc}")
            continue
        yield JsonRecord(row, value, text)


class _Buffer:
    """A sliding window over a text file for the array reader."""

    def __init__(self, f: TextIO) -> None:
        self.f = f
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read another block (at least as large as what is kept); False at end of file."""
        if self.eof:
            return False
        block = self.f.read(max(BLOCK, len(self.text) - self.pos))
        if not block:
            self.eof = True
            return False
        self.text = self.text[self.pos :] + block
        self.pos = 0
        return True

    def next_char(self) -> str:
        """Skip whitespace; the next character ('' at end of file), not consumed."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.more():
                return ""


def _array(f: TextIO) -> Iterator[JsonRecord]:
    decoder = json.JSONDecoder()
    buf = _Buffer(f)
    if buf.next_char() != "[":
        raise FileProblem("the file is not a JSON array: it must start with '['")
    buf.pos += 1
    row = 0
    if buf.next_char() == "]":
        _end(buf)
        return
    while True:
        row += 1
        if buf.next_char() == "":
            raise FileProblem(f"the JSON array ends early, in record {row}: the file is cut off")
        while True:
            try:
                value, end = decoder.raw_decode(buf.text, buf.pos)
            except json.JSONDecodeError as exc:
                if buf.more():
                    continue
                raise FileProblem(f"record {row} is not valid JSON: {exc.msg}") from None
            # A number at the end of the window may go on in the next block: read on to be sure.
            if end == len(buf.text) and buf.more():
                continue
            break
        yield JsonRecord(row, value, buf.text[buf.pos : end])
        buf.pos = end
        char = buf.next_char()
        if char == ",":
            buf.pos += 1
        elif char == "]":
            _end(buf)
            return
        elif char == "":
            raise FileProblem(f"the JSON array ends early, after record {row}: it has no ']'")
        else:
            raise FileProblem(f"expected ',' or ']' after record {row}, found {char!r}")


def _end(buf: _Buffer) -> None:
    buf.pos += 1
    if buf.next_char() != "":
        raise FileProblem("there is more data after the end of the JSON array")


def read_texts(path: str | Path, rows: set[int], fmt: Format | None = None) -> dict[int, str]:
    """The original text of the given records (for error reports), read back from the file."""
    found: dict[int, str] = {}
    if not rows or not Path(path).exists():
        return found
    last = max(rows)
    try:
        for record in iter_records(path, fmt):
            if record.row in rows:
                found[record.row] = record.original()
            if record.row >= last:
                break
    except FileProblem:
        pass  # the report shows what could be read
    return found
