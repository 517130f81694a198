"""Imports whose records are JSON: describing a ``mixpanel_file`` upload, checking a bulk-API
body, and showing failed JSON records in the error report.

File work only (blocking: call it in a thread); the routers do the HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from shared import jsonfile, values
from shared.errors import FileProblem
from shared.jsonfile import Format, detect_format, iter_records, read_texts

SAMPLE = 1000  # profiles read to list a Mixpanel export's properties
PREVIEW = 10
MAX_COLUMNS = 300
REPORT_COLUMN = "record"  # the error report's column holding a failed record's JSON


def _cell(value: Any) -> str:
    """A property value as preview text (what cannot be stored shown as U+FFFD)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return values.storable(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return values.storable(jsonfile.dumps(value).decode())


def describe_mixpanel_file(path: Path) -> tuple[Format, list[str], list[list[str]]]:
    """``(format, columns, preview)`` of a Mixpanel people export.

    The columns are ``$distinct_id`` and the profile properties of the first ``SAMPLE``
    profiles, in order of appearance; the preview is the first 10 profiles as rows of those
    columns. Raises FileProblem when the file is not such an export.
    """
    fmt = detect_format(path)
    columns = ["$distinct_id"]
    seen = set(columns)
    profiles: list[dict[str, Any]] = []
    for record in iter_records(path, fmt):
        if record.row > SAMPLE:
            break
        value = record.value
        if (
            record.error is not None
            or not isinstance(value, dict)
            or ("$distinct_id" not in value and "$properties" not in value)
        ):
            if record.row == 1:
                raise FileProblem(
                    "this is not a Mixpanel people export: it must be a JSON array of"
                    ' profiles like {"$distinct_id": "…", "$properties": {…}}'
                )
            continue
        props = value.get("$properties")
        if isinstance(props, dict):
            for key in props:
                if key not in seen and len(columns) < MAX_COLUMNS:
                    seen.add(key)
                    columns.append(values.storable(str(key)))
        if len(profiles) < PREVIEW:
            profiles.append(value)
    if not profiles:
        raise FileProblem("the Mixpanel export holds no profiles")
    preview = []
    for profile in profiles:
        props = profile.get("$properties")
        props = props if isinstance(props, dict) else {}
        preview.append(
            [_cell(profile.get("$distinct_id"))] + [_cell(props.get(c)) for c in columns[1:]]
        )
    return fmt, columns, preview


def scan_bulk(path: Path, fmt: Format, limit: int) -> tuple[int, bool]:
    """``(records, every one a lead?)`` of a bulk body; stops counting past ``limit``.

    Raises FileProblem when the body is not a well-formed JSON array or NDJSON.
    """
    count = 0
    leads = True
    for record in iter_records(path, fmt):
        count += 1
        if count > limit:
            break
        value = record.value
        if (
            leads
            and record.error is None
            and not (isinstance(value, dict) and value.get("role") == "lead")
        ):
            leads = False  # a broken NDJSON line fails whatever the kind: it does not count
    return count, leads and count > 0


def fill_texts(path: Path, fmt: Format | None, rows: set[int]) -> dict[int, list[str]]:
    """Original JSON of the given records, read back from the stored file."""
    return {row: [text] for row, text in read_texts(path, rows, fmt).items()}


def report_values(cells: list[str]) -> dict[str, Any]:
    """A failed JSON record as the JSON error report shows it: the object as it was sent
    (anything else that was sent, e.g. a broken NDJSON line, as text under ``record``)."""
    if not cells:
        return {}
    try:
        value = orjson.loads(cells[0])
    except orjson.JSONDecodeError:
        return {REPORT_COLUMN: cells[0]}
    return value if isinstance(value, dict) else {REPORT_COLUMN: cells[0]}
