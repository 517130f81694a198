"""What detection and reading share: limits, the records, the decoding error handler."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, Final

from shared import fields

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
