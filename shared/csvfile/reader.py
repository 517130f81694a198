"""Reading: the header, a preview and the records of a file, streamed (see the package)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from shared.csvfile._common import (
    _DECODE_CHUNK,
    _ESCAPE,
    _IO_BUFFER,
    _SURROGATE,
    _TEXT_CHUNK,
    ENCODINGS,
    FIELD_LIMIT,
    LINE_LIMIT,
    MAX_CELL,
    MAX_COLUMNS,
    MAX_HEADER_CELL,
    PREVIEW_CELL,
    Detected,
    Record,
    _decode_errors,
    _new_object,
    _set_cells,
    _set_error,
    _set_row,
)
from shared.errors import FileProblem


def open_text(path: str | Path, encoding: str, errors: str = "strict") -> TextIO:
    """Open the file for the csv module: text mode, `newline=''`, a large buffer.

    `errors` is the codec error handler: 'strict' (the default) raises UnicodeDecodeError at the
    first undecodable byte; `iter_records` uses its own escaping handler and flags such rows,
    `read_header_and_preview` uses 'replace'. An unknown encoding raises `FileProblem`.
    """
    _check_encoding(encoding)
    f = open(path, encoding=encoding, errors=errors, newline="", buffering=_IO_BUFFER)
    try:
        f._CHUNK_SIZE = _DECODE_CHUNK  # type: ignore[attr-defined]  # CPython: fewer decode calls
    except (AttributeError, ValueError):  # pragma: no cover - other Python implementations
        pass
    return f


def _check_encoding(encoding: str) -> None:
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise FileProblem(
            f"unknown encoding {encoding!r}: use one of {', '.join(ENCODINGS)} (or another "
            "standard encoding name such as latin-1)"
        )


def _check_delimiter(delimiter: str) -> None:
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise FileProblem(
            f"invalid delimiter {delimiter!r}: use one character, such as , ; | or a tab"
        )


class _TooLong(Exception):
    """A physical line longer than LINE_LIMIT characters."""


class _Lines:
    """Physical lines of an open text file, a batch at a time, and a C csv reader over them.

    `load` reads `_TEXT_CHUNK` characters, normalises CRLF and CR line breaks to LF and makes
    `it` iterate over the complete lines in them (without line breaks). `clean` tells that the
    batch is ASCII, has no NUL and no line longer than `MAX_CELL`; `quotes` that it has a quote.
    `iter_records` walks `it` itself and, for a line with a quote, pushes it onto `pending` and
    lets `reader` parse the record: the reader takes any continuation lines from the same `it`
    (loading further batches as needed), so both always agree on the position.
    """

    __slots__ = ("clean", "eof", "f", "it", "pending", "quotes", "reader", "tail")

    def __init__(self, f: TextIO, delimiter: str) -> None:
        _check_delimiter(delimiter)
        csv.field_size_limit(FIELD_LIMIT)
        self.f = f
        self.tail: list[str] = []  # the start of a line whose end has not been read yet
        self.eof = False
        self.it: Iterator[str] = iter(())
        self.clean = True
        self.quotes = False
        self.pending: list[str] = []
        self.reader = csv.reader(self._source(), delimiter=delimiter)

    def load(self) -> bool:
        """Make `it` the next batch of lines; False (and no change) at the end of the file."""
        tail = self.tail
        while not self.eof:
            chunk = self.f.read(_TEXT_CHUNK)
            if not chunk:
                self.eof = True
                if not tail:
                    return False
                text = "".join(tail)  # the last line, without a line break
                tail.clear()
                if text[-1] == "\r":
                    text = text[:-1]
                lines = [text]
            elif "\n" not in chunk and "\r" not in chunk and not (tail and tail[-1][-1] == "\r"):
                tail.append(chunk)  # the middle of a long line: no copying until it ends
                if sum(map(len, tail)) > LINE_LIMIT:
                    raise _TooLong
                continue
            else:
                if tail:
                    tail.append(chunk)
                    text = "".join(tail)
                    tail.clear()
                else:
                    text = chunk
                hold = ""
                if text[-1] == "\r":  # maybe the first half of a CRLF: decide with the next read
                    text, hold = text[:-1], "\r"
                split = _split_crlf(text) if "\r" in text else None
                if split is None:
                    if "\r" in text:  # CR line ends, or a mix
                        text = text.replace("\r\n", "\n").replace("\r", "\n")
                    end = text.rfind("\n")
                    if end < 0:  # the only line break was the held CR
                        tail.append(text + hold)
                        continue
                    split = text[:end].split("\n"), text[end + 1 :]
                lines, rest = split
                if rest or hold:
                    tail.append(rest + hold)
            self.clean = len(text) <= MAX_CELL and text.isascii() and "\x00" not in text
            self.quotes = '"' in text
            self.it = iter(lines)
            return True
        return False

    def _source(self) -> Iterator[str]:
        """The csv reader's input: a pushed line first, then the following lines."""
        pending = self.pending
        while True:
            if pending:
                yield pending.pop()
                continue
            for line in self.it:
                yield line + "\n"
                if pending:
                    break
            else:
                if not self.load():
                    return

    def next_record(self) -> list[str] | None:
        """The next non-blank record, parsed by the csv reader; None at the end of the file."""
        for cells in self.reader:
            if not _blank(cells):
                return cells
        return None

    def header(self) -> list[str]:
        """The header's column names (see `_columns`); FileProblem if there is none."""
        try:
            cells = self.next_record()
        except UnicodeDecodeError as e:
            raise FileProblem(_structure_problem(0, e)) from e
        except (csv.Error, _TooLong) as e:
            raise FileProblem(
                "the header row cannot be read (a quote is never closed or the row is far too "
                "long): is this a CSV file with a header row?"
            ) from e
        if cells is None:
            raise FileProblem(
                "the file has no header row (it is empty or has only blank lines): the first row "
                "must name the columns, for example email,name"
            )
        return _columns(cells)


def _split_crlf(text: str) -> tuple[list[str], str] | None:
    """(lines, rest) if every line break in `text` is CRLF (and there is one), else None."""
    end = text.rfind("\r\n")
    if end < 0:
        return None
    lines = text[:end].split("\r\n")
    rest = text[end + 2 :]
    inner = "".join(lines) + rest  # one copy, then two memchr scans: much faster than count()
    if "\r" in inner or "\n" in inner:
        return None
    return lines, rest


def _blank(cells: list[str]) -> bool:
    return not "".join(cells).strip()


def _columns(cells: list[str]) -> list[str]:
    """Header names: trimmed, blank -> 'Column N', duplicates -> 'Name (2)', 'Name (3)'."""
    if len(cells) > MAX_COLUMNS:
        raise FileProblem(
            f"the file has {len(cells)} columns; Usher imports at most {MAX_COLUMNS}: remove the "
            "columns you do not need (or check the delimiter) and upload the file again"
        )
    names: list[str] = []
    for i, cell in enumerate(cells, 1):
        name = cell.replace("\x00", "").strip()
        if i == 1:
            name = name.lstrip("\ufeff").strip()
        if len(name) > MAX_HEADER_CELL:
            raise FileProblem(
                f"the header of column {i} is {len(name)} characters long; at most "
                f"{MAX_HEADER_CELL} are allowed: the first row must name the columns"
            )
        names.append(name or f"Column {i}")
    taken = set(names)
    if len(taken) == len(names):
        return names
    result: list[str] = []
    used: set[str] = set()
    for name in names:
        unique, k = name, 1
        # a suffixed name must not be one that another column already has in the file
        while unique in used or (k > 1 and unique in taken):
            k += 1
            unique = f"{name} ({k})"
        used.add(unique)
        result.append(unique)
    return result


def _clean_preview(cell: str) -> str:
    if "\x00" in cell:
        cell = cell.replace("\x00", "\ufffd")
    if len(cell) > PREVIEW_CELL:
        cell = cell[:PREVIEW_CELL] + "…"
    return cell


def read_header_and_preview(
    path: str | Path, detected: Detected, preview_rows: int = 10
) -> tuple[list[str], list[list[str]]]:
    """The column names and the first `preview_rows` non-blank data records.

    Column names are trimmed (and a BOM dropped); a blank name becomes 'Column N' (N 1-based)
    and repeated names get ' (2)', ' (3)' suffixes, so names are unique and in file order.
    Preview rows are the records as `iter_records` yields them (any length), for display:
    undecodable bytes and NUL show as U+FFFD and cells over `PREVIEW_CELL` characters are cut.
    A header without data rows gives an empty preview.

    Raises `FileProblem` if there is no header (empty file, only blank lines), more than
    `MAX_COLUMNS` columns, a header name over `MAX_HEADER_CELL` characters, or unreadable data.
    """
    with open_text(path, detected.encoding, errors="replace") as f:
        reader = _Lines(f, detected.delimiter)
        columns = reader.header()
        preview: list[list[str]] = []
        try:
            while len(preview) < preview_rows:
                cells = reader.next_record()
                if cells is None:
                    break
                preview.append([_clean_preview(c) for c in cells])
        except (csv.Error, _TooLong, UnicodeDecodeError) as e:
            raise FileProblem(_structure_problem(len(preview) + 1, e)) from e
    return columns, preview


def _structure_problem(row: int, e: Exception) -> str:
    if isinstance(e, _TooLong):
        return (
            f"row {row} has a line longer than {LINE_LIMIT} characters; this does not look like "
            "a CSV file (or a line break is missing)"
        )
    if isinstance(e, UnicodeDecodeError):
        where = f"row {row}" if row else "the header row"
        return (
            f"{where} cannot be decoded as {e.encoding}: choose the file's encoding, or save "
            "it as CSV UTF-8 and upload it again"
        )
    return (
        f"row {row} has a quoted cell that never ends or is longer than {FIELD_LIMIT} "
        'characters: check the quotes (") in that row'
    )


def iter_records(path: str | Path, detected: Detected, start_row: int = 1) -> Iterator[Record]:
    """Stream the data records after the header, in file order, with constant memory.

    Blank records are skipped and not counted. Records numbered below `start_row` are read but
    not yielded (to resume an import). Bad rows are yielded with `error` set rather than stopping:
    a wrong number of cells ('row has 3 cells, the header has 5'), a cell longer than `MAX_CELL`
    characters, NUL characters, bytes that are not valid in the encoding. The header is checked
    as in `read_header_and_preview`.

    Raises `FileProblem` (naming the row) if the file's structure breaks: no header, a quoted
    cell that never ends or exceeds `FIELD_LIMIT`, or a line over `LINE_LIMIT` characters.
    """
    encoding, delimiter = detected.encoding, detected.delimiter
    decode_errors = _decode_errors
    errors_before = decode_errors[0]
    with open_text(path, encoding, errors=_ESCAPE) as f:
        lines = _Lines(f, delimiter)
        ncols = len(lines.header())
        row = 0
        try:
            while row < start_row - 1:
                if lines.next_record() is None:
                    return
                row += 1
            # The hot loop, run once per line: keep it lean (see the module docstring).
            pending = lines.pending
            reader = lines.reader
            join = "".join
            max_cell = MAX_CELL
            new, set_row, set_cells, set_error = _new_object, _set_row, _set_cells, _set_error
            while True:
                it = lines.it
                quotes = lines.quotes
                clean = lines.clean
                for line in it:
                    if quotes and '"' in line:
                        pending.append(line + "\n")  # the csv reader parses the record from here
                        cells = next(reader)
                        text = join(cells)
                        if (
                            len(cells) == ncols
                            and cells[0].strip()
                            and len(text) <= max_cell
                            and "\x00" not in text
                            and (text.isascii() or decode_errors[0] == errors_before)
                        ):
                            row += 1
                            record = new(Record)
                            set_row(record, row)
                            set_cells(record, cells)
                            set_error(record, None)
                            yield record
                            continue
                    else:
                        cells = line.split(delimiter)
                        if len(cells) == ncols and (
                            # clean batch: short ASCII lines without NUL; the first cell starts
                            # with a printable character, so the record is not blank
                            (clean and cells[0] >= "!")
                            or (
                                cells[0].strip()
                                and len(line) <= max_cell
                                and "\x00" not in line
                                and (line.isascii() or decode_errors[0] == errors_before)
                            )
                        ):
                            row += 1
                            record = new(Record)
                            set_row(record, row)
                            set_cells(record, cells)
                            set_error(record, None)
                            yield record
                            continue
                    if _blank(cells):
                        continue
                    row += 1
                    cells, error = _inspect(cells, ncols, encoding)
                    yield Record(row, cells, error)
                # `it` is used up; unless the csv reader already moved on to the next batch:
                if lines.it is it and not lines.load():
                    break
        except (csv.Error, _TooLong, UnicodeDecodeError) as e:
            raise FileProblem(_structure_problem(row + 1, e)) from e


def _inspect(cells: list[str], ncols: int, encoding: str) -> tuple[list[str], str | None]:
    """The slow path: every problem of a non-blank record, and its cells made storable."""
    problems: list[str] = []
    if len(cells) != ncols:
        problems.append(
            f"row has {len(cells)} cell{'' if len(cells) == 1 else 's'}, the header has {ncols}"
        )
    if any(len(c) > MAX_CELL for c in cells):
        problems.append(f"a cell is longer than {MAX_CELL} characters")
    text = "".join(cells)
    if "\x00" in text:
        problems.append("row contains NUL characters (shown as \ufffd)")
        cells = [c.replace("\x00", "\ufffd") for c in cells]
    if not text.isascii():
        bad = sorted({ord(ch) - 0xDC00 for ch in _SURROGATE.findall(text)})
        if bad:
            shown = ", ".join(f"0x{b:02X}" for b in bad[:5]) + (", …" if len(bad) > 5 else "")
            problems.append(
                f"row contains bytes that are not valid {encoding} ({shown}, shown as \ufffd): "
                "check the file's encoding"
            )
            cells = [_SURROGATE.sub("\ufffd", c) for c in cells]
    return cells, "; ".join(problems) or None
