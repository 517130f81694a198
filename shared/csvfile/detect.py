"""Detection: the encoding and delimiter of a file, and refusing what is not CSV."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Final

from shared.csvfile._common import (
    _EXPORT_AS_CSV,
    _NEWLINE,
    _SNIFF_RECORDS,
    DELIMITERS,
    Detected,
)
from shared.errors import FileProblem

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
