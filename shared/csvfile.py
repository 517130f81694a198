"""Reading CSV files for imports (SPEC §3 "Source specifics: CSV").

Stdlib only; reads files, no network or database. Five jobs:

- `detect`: guess the encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252) and the
  delimiter (`,` `;` tab `|`) from the first bytes, and refuse files that are clearly not CSV.
- `read_header_and_preview`: the column names (trimmed, made unique) and the first rows.
- `iter_records`: stream the data records with constant memory, flagging bad rows (wrong number of
  cells, over-long cells, NUL characters, undecodable bytes) instead of aborting the import.
- `suggested_mapping`: which column most likely holds each standard field.
- `split_tags`: tag names in one cell.

Problems with the file as a whole raise `FileProblem`, whose message is shown to the user as is.

Records are what the C `csv` module's reader gives with the default (Excel) dialect and the given
delimiter: quoted fields may contain delimiters, doubled quotes and line breaks; CRLF, LF and CR
line ends are accepted, also mixed. One deliberate difference: a line break inside a quoted cell
is always returned as "\n" (CRLF and CR are normalised). A record whose cells are all blank
(empty or whitespace, e.g. an empty line or `;;;` left by a spreadsheet) is skipped everywhere and
never counted, so the header is the first non-blank record and `Record.row` counts the non-blank
records after it from 1.

Speed: the file is decoded and split into lines in large batches; a line without a quote
character is split with `str.split` (what the csv module gives for it, twice as fast), a line with
one goes to a single C `csv` reader. A batch that is ASCII without NUL needs no per-row checks.

Memory is bounded whatever the file size: physical lines and csv fields are capped at about
`LINE_LIMIT` / `FIELD_LIMIT` characters (16 MiB); beyond that the file is refused (`FileProblem`).
Note that `csv.field_size_limit` is process-wide; the reading functions set it to `FIELD_LIMIT`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from shared import fields, values
from shared.errors import FileProblem

__all__ = [
    "DELIMITERS",
    "ENCODINGS",
    "FIELD_LIMIT",
    "LINE_LIMIT",
    "MAPPING_FIELDS",
    "MAX_CELL",
    "MAX_COLUMNS",
    "MAX_HEADER_CELL",
    "Detected",
    "FileProblem",
    "Record",
    "detect",
    "iter_records",
    "open_text",
    "read_header_and_preview",
    "split_tags",
    "suggested_mapping",
]

ENCODINGS: Final = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
DELIMITERS: Final = (",", ";", "\t", "|")  # also the preference order when detection is unsure
MAX_COLUMNS: Final = 1000
MAX_HEADER_CELL: Final = 1000
MAX_CELL: Final = 65536  # longer cells make the row fail
FIELD_LIMIT: Final = 16 * 1024 * 1024  # longer csv fields make the whole file fail
LINE_LIMIT: Final = FIELD_LIMIT  # longer physical lines make the whole file fail
PREVIEW_CELL: Final = 1000  # preview cells are cut to this many characters (plus "…")
MAPPING_FIELDS: Final = fields.MAPPABLE

_SNIFF_RECORDS: Final = 20
_IO_BUFFER: Final = 1 << 20
_DECODE_CHUNK: Final = 1 << 18
_TEXT_CHUNK: Final = 60000  # characters per read: batches stay under MAX_CELL (see _Lines.clean)
_SURROGATE: Final = re.compile("[\udc00-\udcff]")
_NEWLINE: Final = re.compile(r"\r\n|\r|\n")
_ESCAPE: Final = "usher-csvfile-escape"  # see _escape_and_count
_EXPORT_AS_CSV: Final = "export it as CSV (comma-separated values) and upload that file"


@dataclass(frozen=True)
class Detected:
    """How to read a file.

    `detect` returns one of `ENCODINGS` and one of `DELIMITERS`; the reading functions also accept
    any other Python text encoding (e.g. a user override such as 'latin-1') and any one-character
    delimiter other than a quote or a line break, and raise `FileProblem` for anything else.
    """

    encoding: str
    delimiter: str


@dataclass(frozen=True, slots=True)
class Record:
    """One data record of the file.

    `row` is the 1-based record number, the header and blank records not counted (the number
    shown in error reports). `cells` are the raw cell values (never trimmed). `error` is None for
    a good row, else a user-facing message naming every problem, separated by "; ". A record with
    an error still carries its cells. NUL characters and undecodable bytes only occur in records
    with an error, and there they are replaced by U+FFFD: every record's cells are valid Unicode
    without NUL, storable as UTF-8 / PostgreSQL text.
    """

    row: int
    cells: list[str]
    error: str | None


# Building a frozen dataclass through its __init__ costs three object.__setattr__ calls; on the hot
# path we create the same object by setting its slots directly (twice as fast, same result).
_new_object: Final = object.__new__
_set_row: Final[Any] = vars(Record)["row"].__set__
_set_cells: Final[Any] = vars(Record)["cells"].__set__
_set_error: Final[Any] = vars(Record)["error"].__set__


# The decoding error handler of `iter_records`: like 'surrogateescape' it turns each undecodable
# byte b into the lone surrogate U+DC00+b (for every byte value, so it never raises, also for
# UTF-16), and it counts its calls. While the count stays unchanged during a read, no cell can
# hold such a surrogate, so non-ASCII rows need no surrogate scan on the hot path.
_decode_errors: list[int] = [0]


def _escape_and_count(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _decode_errors[0] += 1
    bad = error.object[error.start : error.end]
    return "".join([chr(0xDC00 + b) for b in bad]), error.end


codecs.register_error(_ESCAPE, _escape_and_count)


# --------------------------------------------------------------------------------------------
# detection


_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or Office file"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"{\\rtf", "an RTF document"),
    (b"\xff\xfe\x00\x00", "a UTF-32 text file"),
    (b"\x00\x00\xfe\xff", "a UTF-32 text file"),
)
# bytes that do not occur in text: C0 controls except tab, LF, VT, FF, CR, and DEL
_CONTROL_BYTES: Final = bytes([*range(0, 9), *range(14, 32), 127])


def detect(path: str | Path, sample_bytes: int = 256 * 1024) -> Detected:
    """Guess how to read the file from its first `sample_bytes` bytes.

    Encoding: a UTF-8 BOM gives 'utf-8-sig', a UTF-16 BOM (either byte order) 'utf-16'; otherwise
    'utf-8' if the sample is valid UTF-8 (a character cut at the end of the sample is ignored),
    else 'cp1252'. Invalid bytes after the sample are reported later as row errors.

    Delimiter: the candidate of `DELIMITERS` that appears (outside quotes) in the header and the
    same number of times on most of the first 20 records; ties go to the earlier candidate, and a
    file with one column gives ','.

    Raises `FileProblem` for an empty (or whitespace-only) file and for files that are clearly
    not CSV text: archives, Office workbooks, PDFs, images (by their magic bytes), UTF-32, UTF-16
    without BOM, and binary data (many NUL or control bytes; any NUL byte in a non-UTF-8 sample).
    """
    with open(path, "rb") as f:
        sample = f.read(max(sample_bytes, 4))
        complete = not f.read(1)
    if not sample:
        raise FileProblem(
            "the file is empty: export the list again with a header row "
            "(for example email,name) and one row per person"
        )
    _reject_known_formats(sample)
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        _reject_binary(sample, not_utf8=False)
        try:
            codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=complete)
            encoding = "utf-8"
        except UnicodeDecodeError:
            _reject_binary(sample, not_utf8=True)
            encoding = "cp1252"
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=complete)
    text = text.lstrip("\ufeff")
    if complete and not text.strip():
        raise FileProblem(
            "the file is empty (it has no rows): export the list again with a header row "
            "(for example email,name) and one row per person"
        )
    return Detected(encoding=encoding, delimiter=_sniff_delimiter(text, complete))


def _reject_known_formats(sample: bytes) -> None:
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            if what == "a ZIP archive":
                if b"[Content_Types].xml" in sample or b"xl/" in sample:
                    raise FileProblem(
                        "this file looks like an Excel workbook (.xlsx, a ZIP archive), not a "
                        "CSV: export it as CSV (in Excel: File › Save As › CSV UTF-8) and "
                        "upload that file"
                    )
                if b"opendocument.spreadsheet" in sample:
                    raise FileProblem(
                        "this file looks like an OpenDocument spreadsheet (.ods, a ZIP archive), "
                        f"not a CSV: {_EXPORT_AS_CSV}"
                    )
                raise FileProblem(
                    "this file looks like a ZIP archive, not a CSV: export it as CSV "
                    "(comma-separated values), or unzip it and upload the .csv file inside"
                )
            if what == "a UTF-32 text file":
                raise FileProblem(
                    "this file is UTF-32 encoded, which Usher does not read: save it as "
                    "CSV UTF-8 (or UTF-16) and upload that file"
                )
            raise FileProblem(f"this file looks like {what}, not a CSV: {_EXPORT_AS_CSV}")
    head = sample[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise FileProblem(
            "this file looks like a web page (HTML), not a CSV: download the list as CSV "
            "and upload that file"
        )


def _reject_binary(sample: bytes, *, not_utf8: bool) -> None:
    """Refuse samples that are not text; `not_utf8`: the sample is not UTF-8 (any NUL refuses)."""
    n = len(sample)
    nul = sample.count(0)
    if nul * 4 > n:
        half = n // 2
        if half and sample[1::2].count(0) * 10 >= half * 9:
            which = "UTF-16 (little-endian)"
        elif half and sample[0::2].count(0) * 10 >= half * 9:
            which = "UTF-16 (big-endian)"
        else:
            which = ""
        if which:
            raise FileProblem(
                f"this file looks like {which} text without a byte-order mark, which cannot be "
                "read reliably: save it as CSV UTF-8 (or UTF-16 with BOM) and upload that file"
            )
    control = n - len(sample.translate(None, _CONTROL_BYTES))
    if (not_utf8 and nul) or (nul >= 4 and nul * 100 > n) or (control >= 8 and control * 20 > n):
        raise FileProblem(
            "this file looks like binary data (for example a spreadsheet, an archive or an "
            f"image), not a CSV: {_EXPORT_AS_CSV}"
        )


def _sniff_delimiter(text: str, complete: bool) -> str:
    """The delimiter whose count outside quotes matches the header's on most first records."""
    pieces = _NEWLINE.split(text, maxsplit=20 * _SNIFF_RECORDS)
    if not complete or len(pieces) > 20 * _SNIFF_RECORDS:
        pieces.pop()  # possibly cut by the end of the sample, or the unsplit rest
    counts: list[tuple[int, ...]] = []
    buf: list[str] = []
    quotes = 0
    for piece in pieces:
        buf.append(piece)
        quotes += piece.count('"')
        if quotes % 2:
            continue  # inside a quoted field: the record goes on on the next line
        record = "\n".join(buf)
        buf.clear()
        quotes = 0
        if not record.strip():
            continue
        outside = "".join(record.split('"')[0::2])
        counts.append(tuple(outside.count(d) for d in DELIMITERS))
        if len(counts) >= _SNIFF_RECORDS:
            break
    best, best_score = ",", 0
    if counts:
        header = counts[0]
        for i, delimiter in enumerate(DELIMITERS):
            if header[i]:
                score = sum(1 for c in counts if c[i] == header[i])
                if score > best_score:
                    best, best_score = delimiter, score
    return best


# --------------------------------------------------------------------------------------------
# reading


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


# --------------------------------------------------------------------------------------------
# mapping suggestions


def _norm(header: str) -> str:
    """Lower-case, accents removed, only letters and digits ('E-Mail-Adresse' -> 'emailadresse')."""
    folded = unicodedata.normalize("NFKD", header.casefold())
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


# Normalised header names per field, best first. All of them are "exact" matches.
_EXACT: Final[dict[str, tuple[str, ...]]] = {
    "email": (
        "email",
        "emailaddress",
        "emailadresse",
        "emailadress",
        "emailadres",
        "mailaddress",
        "mail",
        "primaryemail",
        "emailid",
        "courriel",
        "adresseemail",
        "adressemail",
        "adresseelectronique",
        "adressecourriel",
        "correo",
        "correoelectronico",
        "direcciondecorreo",
        "direcciondecorreoelectronico",
        "direccionemail",
        "indirizzoemail",
        "enderecodeemail",
        "enderecoemail",
        "epost",
        "epostadresse",
        "epostadress",
    ),
    "user_id": (
        "userid",
        "externaluserid",
        "customerid",
        "externalid",
        "uid",
        "id",
        "clientid",
        "accountid",
        "memberid",
        "contactid",
        "personid",
        "customernumber",
        "customerno",
        "distinctid",
        "kundennummer",
        "kundennr",
        "kundenid",
        "benutzerid",
        "nutzerid",
        "idclient",
        "identifiant",
        "numeroclient",
        "idcliente",
        "numerodecliente",
        "numerocliente",
        "iddecliente",
        "iddeusuario",
        "identifiantclient",
        "idusuario",
        "usuarioid",
        "idutilisateur",
    ),
    "name": (
        "name",
        "fullname",
        "displayname",
        "contactname",
        "customername",
        "nom",
        "nomcomplet",
        "nombre",
        "nombrecompleto",
        "nome",
        "nomecompleto",
        "naam",
        "vollstandigername",
    ),
    "signed_up_at": (
        "signedupat",
        "signedup",
        "signupdate",
        "signupat",
        "signedupdate",
        "signup",
        "signupdatetime",
        "signuptime",
        "registeredat",
        "registered",
        "registrationdate",
        "registerdate",
        "registeredon",
        "joined",
        "joinedat",
        "joindate",
        "datejoined",
        "membersince",
        "createdat",
        "created",
        "createddate",
        "createdon",
        "createdutc",
        "createdate",
        "creationdate",
        "datecreated",
        "dateadded",
        "addedon",
        "anmeldedatum",
        "registrierungsdatum",
        "registriertam",
        "erstelltam",
        "dateinscription",
        "datedinscription",
        "inscription",
        "inscritle",
        "fechaderegistro",
        "fecharegistro",
        "fechadealta",
        "fechaalta",
        "fechacreacion",
        "fechadecreacion",
        "optintime",
    ),
    "phone": (
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "mobilephonenumber",
        "telephone",
        "telephonenumber",
        "tel",
        "cell",
        "cellphone",
        "phoneno",
        "contactnumber",
        "msisdn",
        "telefon",
        "telefonnummer",
        "handy",
        "handynummer",
        "mobil",
        "mobilnummer",
        "mobiltelefon",
        "numerodetelephone",
        "portable",
        "telephoneportable",
        "telefono",
        "numerodetelefono",
        "movil",
        "telefonomovil",
        "celular",
    ),
    "last_seen_at": (
        "lastseenat",
        "lastseen",
        "lastseendate",
        "lastseenon",
        "lastactive",
        "lastactiveat",
        "lastactivity",
        "lastactivitydate",
        "lastlogin",
        "lastloginat",
        "lastlogindate",
        "lastsignin",
        "lastsignedin",
        "lastsigninat",
        "lastvisit",
        "lastvisitat",
        "lastvisited",
        "letzteanmeldung",
        "letzterlogin",
        "zuletztgesehen",
        "zuletztaktiv",
        "derniereconnexion",
        "dernierevisite",
        "dernieraccess",
        "ultimoacceso",
        "ultimaconexion",
        "ultimavisita",
    ),
    "last_seen_ip": (
        "lastseenip",
        "ip",
        "ipaddress",
        "lastip",
        "lastipaddress",
        "lastloginip",
        "ipadresse",
        "ipadres",
        "adresseip",
        "direccionip",
        "ipaddr",
        "ipv4",
        "clientip",
        "remoteip",
        "signupip",
        "optinip",
        "confirmip",
    ),
    "tags": (
        "tags",
        "tag",
        "labels",
        "label",
        "etiquetas",
        "etiquettes",
        "etiqueta",
        "etiquette",
        "schlagworte",
        "schlagworter",
        "stichworte",
    ),
}
_EXACT_RANK: Final[dict[str, dict[str, int]]] = {
    field: {name: rank for rank, name in enumerate(names)} for field, names in _EXACT.items()
}

# Weaker matches: the normalised header contains one of the words and none of the exclusions.
_PARTIAL: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "email": (
        ("email", "correo", "courriel"),
        (
            "verif",
            "optin",
            "optout",
            "consent",
            "status",
            "subscri",
            "bounce",
            "valid",
            "domain",
            "type",
            "format",
            "permission",
            "marketing",
            "unsub",
            "sent",
            "open",
            "click",
            "count",
            "confirm",
            "date",
            "time",
        ),
    ),
    "user_id": (("userid", "customerid", "externalid", "kundennummer", "kundenid"), ()),
    "name": (("fullname", "nomcomplet", "nombrecompleto", "vollstandigername"), ()),
    "signed_up_at": (
        ("signup", "signedup", "registration", "registered", "created", "joined"),
        (
            "ip",
            "source",
            "method",
            "channel",
            "url",
            "page",
            "form",
            "campaign",
            "country",
            "by",
            "card",
            "order",
            "invoice",
            "deal",
            "ticket",
            "company",
        ),
    ),
    "phone": (
        ("phone", "mobile", "telefon", "handy", "celular", "movil"),
        ("type", "verif", "optin", "consent", "country", "code", "prefix", "ext", "valid"),
    ),
    "last_seen_at": (("lastseen", "lastactiv", "lastlogin", "lastvisit"), ("ip",)),
    "last_seen_ip": (("ipaddr", "ipadress", "adresseip", "lastip", "seenip", "loginip"), ()),
    "tags": ((), ()),
}
# Single-column names that mean the surname when a first-name column sits next to them.
_SURNAME_LIKE: Final = frozenset({"name", "nom", "nombre", "nome", "naam"})
_FIRST_NAME: Final = frozenset(
    {"firstname", "fname", "givenname", "forename", "vorname", "prenom", "primernombre", "voornaam"}
)


def _score(field: str, norm: str) -> tuple[int, int] | None:
    rank = _EXACT_RANK[field].get(norm)
    if rank is not None:
        return (0, rank)
    words, excluded = _PARTIAL[field]
    if any(w in norm for w in words) and not any(x in norm for x in excluded):
        return (1, 0)
    return None


def _generic_mapping(columns: list[str], fields: tuple[str, ...], used: set[int]) -> dict[str, str]:
    norms = [_norm(c) for c in columns]
    has_first_name = any(n in _FIRST_NAME for n in norms)
    candidates: list[tuple[tuple[int, int], int, int, str]] = []
    for order, field in enumerate(fields):
        for i, n in enumerate(norms):
            if i in used or not n:
                continue
            if field == "name" and has_first_name and n in _SURNAME_LIKE:
                continue
            score = _score(field, n)
            if score is not None:
                candidates.append((score, order, i, field))
    candidates.sort()
    mapping: dict[str, str] = {}
    for _rank, _order, i, field in candidates:
        if field in mapping or i in used:
            continue
        mapping[field] = columns[i]
        used.add(i)
    return mapping


def suggested_mapping(columns: list[str], source: str = "csv") -> dict[str, str]:
    """Suggest which column holds each standard field: {field: column name}.

    Fields are those of `MAPPING_FIELDS`; a field without a plausible column is left out, and
    each column is used at most once. Headers are compared normalised (case, accents, spaces and
    punctuation ignored) against the names people use, including German, French, Spanish and
    other common ones ('E-Mail-Adresse', 'Courriel', 'Teléfono', 'Kundennummer' ...); exact
    names win over names that merely contain a keyword ('Work Email'). For 'csv', a name is only
    suggested from a single full-name column (not 'Name' next to 'Vorname', which is a surname).

    For `source='mailchimp_csv'` (MailChimp's audience export) the mapping is complete: 'Email
    Address' -> email, 'First Name' -> name plus the extra key 'name_last' -> 'Last Name' (the
    parser joins them), OPTIN_TIME (else CONFIRM_TIME) -> signed_up_at, OPTIN_IP (else
    CONFIRM_IP) -> last_seen_ip, TAGS -> tags, and a phone-like column -> phone.
    """
    used: set[int] = set()
    mapping: dict[str, str] = {}
    if source == "mailchimp_csv":
        index: dict[str, int] = {}
        for i, column in enumerate(columns):
            index.setdefault(_norm(column), i)

        def take(key: str, *names: str) -> None:
            for name in names:
                i = index.get(name)
                if i is not None and i not in used:
                    mapping[key] = columns[i]
                    used.add(i)
                    return

        take("email", "emailaddress", "email")
        take("name", "firstname", "fname")
        take("name_last" if "name" in mapping else "name", "lastname", "lname")
        take("signed_up_at", "optintime", "confirmtime")
        take("last_seen_ip", "optinip", "confirmip")
        take("tags", "tags")
        take("phone", "phonenumber", "phone")
    rest = tuple(f for f in MAPPING_FIELDS if f not in mapping)
    mapping.update(_generic_mapping(columns, rest, used))
    return {key: mapping[key] for key in fields.MAPPING_TARGETS if key in mapping}


# --------------------------------------------------------------------------------------------
# tags


def split_tags(cell: str) -> list[str]:
    """Tag names in one cell, in order: comma-separated ('VIP, Gold') or quoted the way
    MailChimp writes them ('"Customer","VIP, Gold"' -> ['Customer', 'VIP, Gold']).

    Names are trimmed, empty ones dropped, and repeats (compared case-insensitively) dropped,
    keeping the first spelling. Line breaks outside quotes separate names too. A name that
    :func:`shared.values.parse_tag` refuses (too long, a control character) raises InvalidValue.
    """
    if not cell or cell.isspace():
        return []
    if '"' in cell:
        rows = csv.reader(io.StringIO(cell, newline=""), skipinitialspace=True)
        parts = [part for row in rows for part in row]
    else:
        parts = _NEWLINE.sub(",", cell).split(",")
    tags: list[str] = []
    seen: set[str] = set()
    for part in parts:
        tag = values.parse_tag(part)
        key = tag.casefold()
        if tag and key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags
