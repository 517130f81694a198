"""An import's error report: every failed record (and every record applied with values left
out, SPEC §6.2) with its row number, errors, warnings and original values — as CSV (streamed,
the whole report) or as JSON pages.

Cells of records the parser rejected travel with them; cells of records the merger rejected
(an ambiguous email, say) are read back from the stored file, a page at a time. CSV cells are
neutralised against spreadsheet formula injection.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

from services.upload import jsonimports
from services.upload import repository as repo
from shared import csvfile, import_store
from shared.csvfile import Detected

Entry = tuple[int, list[str], list[str], list[str]]  # (row, errors, warnings, cells)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def download_name(file_name: str | None, import_id: str) -> str:
    """What the report's download is called: after the uploaded file ("signups.csv" →
    "signups - errors.csv"), or after the import when it had no file (an API import)."""
    stem = (file_name or "").strip().rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." in stem.lstrip("."):
        stem = stem[: stem.rindex(".")]
    stem = "".join(c for c in stem if c.isprintable() and c not in '"\\').strip()[:120]
    return f"{stem} - errors.csv" if stem else f"errors-{import_id}.csv"


def content_disposition(name: str) -> str:
    """An attachment header that carries any name: an ASCII fallback and RFC 6266's UTF-8 form."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def neutralise(cell: str) -> str:
    """Spreadsheet formula injection: a cell that a spreadsheet would evaluate gets a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


class Report:
    """The error report of one import (its database row), read from ``storage_dir``."""

    def __init__(self, pool: asyncpg.Pool, storage_dir: Path, row: Mapping[str, Any]) -> None:
        self.pool = pool
        self.row = row
        options = row["options"] or {}
        self.options = options
        self.json = row["source"] in import_store.JSON_SOURCES
        self.detected = (
            Detected(
                options.get("encoding") or row["detected"]["encoding"],
                options.get("delimiter") or row["detected"]["delimiter"],
            )
            if row["detected"] and not self.json
            else None
        )
        self.path = storage_dir / (row["file_key"] or "-")
        # A JSON record is one cell: its original JSON (in the CSV report, the column "record").
        self.columns: list[str] = (
            [jsonimports.REPORT_COLUMN] if self.json else list(row["columns"] or [])
        )

    async def pages(
        self, after: int = 0, size: int = 5000, pages: int | None = None
    ) -> AsyncIterator[list[Entry]]:
        """The records after row ``after``, in row order, ``size`` a page (at most ``pages``)."""
        while pages is None or pages > 0:
            batch = await repo.error_rows(self.pool, self.row["id"], after, size)
            if not batch:
                return
            if pages is not None:
                pages -= 1
            missing = {r["row_no"] for r in batch if r["cells"] is None}
            filled: dict[int, list[str]] = {}
            if missing and self.json:
                fmt = self.options.get("format")
                filled = await asyncio.to_thread(jsonimports.fill_texts, self.path, fmt, missing)
            elif missing and self.detected:
                filled = await asyncio.to_thread(_fill_cells, self.path, self.detected, missing)
            yield [
                (
                    r["row_no"],
                    r["errors"],
                    r["warnings"] or [],
                    r["cells"] if r["cells"] is not None else filled.get(r["row_no"], []),
                )
                for r in batch
            ]
            after = batch[-1]["row_no"]

    def shown(self, cells: list[str]) -> dict[str, Any]:
        """A record's original values as the JSON report shows them."""
        if self.json:
            return jsonimports.report_values(cells)
        return _values(self.columns, cells)

    async def csv(self) -> AsyncIterator[bytes]:
        """The whole report as CSV (``row``, ``errors``, then the original columns); a value
        left out of a record is listed with its errors ("left out: …")."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["row", "errors", *(neutralise(c) for c in self.columns)])
        async for batch in self.pages():
            for number, errors, warnings, cells in batch:
                problems = "; ".join([*errors, *warnings])
                writer.writerow([number, neutralise(problems), *(neutralise(c) for c in cells)])
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        if buffer.getvalue():
            yield buffer.getvalue().encode("utf-8")


def _fill_cells(path: Path, detected: Detected, wanted: set[int]) -> dict[int, list[str]]:
    """Original cells of the given records, read back from the stored file."""
    found: dict[int, list[str]] = {}
    if not wanted or not path.exists():
        return found
    last = max(wanted)
    for record in csvfile.iter_records(path, detected):
        if record.row in wanted:
            found[record.row] = record.cells
        if record.row >= last:
            break
    return found


def _values(columns: Sequence[str], cells: list[str]) -> dict[str, str]:
    out = dict(zip(columns, cells, strict=False))
    for i, cell in enumerate(cells[len(columns) :], start=1):
        out[f"(extra {i})"] = cell
    return out
