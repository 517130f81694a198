"""Reading CSV files for imports (SPEC §3 "Source specifics: CSV").

Stdlib only; reads files, no network or database. Five jobs:

- `detect`: guess the encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252) and the
  delimiter (`,` `;` tab `|`) from the first bytes, and refuse files that are clearly not CSV.
- `read_header_and_preview`: the column names (trimmed, made unique) and the first rows.
- `iter_records`: stream the data records with constant memory, flagging bad rows (wrong number of
  cells, over-long cells, NUL characters, undecodable bytes) instead of aborting the import.

(Mapping suggestions are the upload service's: services/upload/column_mapping.py; tag cells are
split by shared.values.split_tags.)

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

from shared.csvfile._common import (
    DELIMITERS,
    ENCODINGS,
    FIELD_LIMIT,
    LINE_LIMIT,
    MAPPING_FIELDS,
    MAX_CELL,
    MAX_COLUMNS,
    MAX_HEADER_CELL,
    PREVIEW_CELL,
    Detected,
    Record,
)
from shared.csvfile.detect import detect
from shared.csvfile.reader import iter_records, open_text, read_header_and_preview
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
    "PREVIEW_CELL",
    "Detected",
    "FileProblem",
    "Record",
    "detect",
    "iter_records",
    "open_text",
    "read_header_and_preview",
]
