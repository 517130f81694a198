"""Imports: upload a file, start it with a mapping, follow it, download its error report."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.upload import column_mapping, jsonimports, storage
from services.upload import repository as repo
from services.upload.auth import CurrentWorkspace
from services.upload.errors import ApiError, invalid, not_found
from services.upload.pagination import Paging, pages
from services.upload.queueing import request_import
from shared import csvfile, fields, people_store, values
from shared.csvfile import Detected
from shared.errors import FileProblem, InvalidValue
from shared.ids import new_id
from shared.values import fold

router = APIRouter(prefix="/api/imports", tags=["imports"])

FILE_SOURCES = ("csv", "mailchimp_csv", "mixpanel_file")
MAX_ATTRIBUTES = 250
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
DELIMITERS = (",", ";", "\t", "|")


def public_import(row: Any) -> dict[str, Any]:
    done = row["created"] + row["updated"] + row["failed"]
    total = row["rows_total"]
    if row["status"] == "completed":
        progress = 1.0
    elif total:
        progress = min(0.999, done / total)
    elif row["rows_estimate"]:
        progress = min(0.99, done / max(row["rows_estimate"], 1))
    else:
        progress = 0.0
    out: dict[str, Any] = {
        "id": row["id"],
        "source": row["source"],
        "kind": row["kind"],
        "status": row["status"],
        "tag": row["tag"],
        "counts": {
            "rows": total if total is not None else max(row["rows_parsed"], done),
            "created": row["created"],
            "updated": row["updated"],
            "failed": row["failed"],
        },
        "progress": round(progress, 4),
        "trigger_messages": row["trigger_messages"],
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "error": row["error"],
        "file_name": row["file_name"],
        "file_size": row["file_size"],
        "columns": row["columns"],
        "preview": row["preview"],
        "detected": row["detected"],
        "suggested_mapping": row["suggested_mapping"],
    }
    if row["started_at"] is not None and done:
        end = row["finished_at"] or datetime.now(row["started_at"].tzinfo)
        seconds = max((end - row["started_at"]).total_seconds(), 0.001)
        out["rows_per_second"] = round(done / seconds, 1)
    return out


@router.post("", status_code=201)
async def upload(request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    """Store a CSV file (streamed, constant memory) and describe it for the mapping step."""
    settings = request.app.state.settings
    received = await storage.receive_file(
        request, Path(settings.storage_dir), settings.max_upload_bytes
    )
    source = received.fields.get("source", "csv") or "csv"
    try:
        return await _describe_upload(request, workspace.id, received, source)
    except BaseException:  # the file must not stay behind (a 4xx, a 500, a client gone)
        received.path.unlink(missing_ok=True)
        raise


async def _describe_upload(
    request: Request, workspace_id: str, received: storage.Upload, source: str
) -> dict[str, Any]:
    """Check a stored upload and record it as an import; ApiError says what is wrong."""
    try:
        if source not in FILE_SOURCES:
            raise invalid(
                f"source {source!r} is not a file source: use one of {', '.join(FILE_SOURCES)}"
            )
        if received.size == 0:
            raise invalid("the file is empty: export it again with a header row and data rows")
        if source == "mixpanel_file":
            fmt, columns, preview = await asyncio.to_thread(
                jsonimports.describe_mixpanel_file, received.path
            )
            described: dict[str, Any] = {"encoding": "utf-8", "delimiter": None, "format": fmt}
        else:
            detected = csvfile.detect(received.path)
            columns, preview = csvfile.read_header_and_preview(received.path, detected)
            described = {"encoding": detected.encoding, "delimiter": detected.delimiter}
    except FileProblem as exc:
        raise invalid(str(exc)) from None
    async with request.app.state.pool.acquire() as conn:
        row = await repo.insert_import(
            conn,
            id=new_id("imp_"),
            workspace_id=workspace_id,
            source=source,
            kind="users",
            status="uploaded",
            file_key=received.key,
            file_name=received.file_name,
            file_size=received.size,
            detected=described,
            columns=columns,
            preview=preview,
            # A Mixpanel export is mapped by the SPEC's rules, not by columns.
            suggested_mapping={}
            if source == "mixpanel_file"
            else column_mapping.suggested_mapping(columns, source),
        )
    return public_import(row)


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["users", "leads"] = "users"
    mapping: dict[str, str] = Field(default_factory=dict)
    custom_attributes: dict[str, str] = Field(default_factory=dict)
    tag: str | None = None
    trigger_messages: bool = True
    blank_values: Literal["clear", "ignore"] = "clear"
    date_order: Literal["DMY", "MDY"] = "DMY"
    default_country: str | None = None
    encoding: str | None = None
    delimiter: str | None = None


def tag_problems(tag: str | None) -> list[str]:
    """What is wrong with an import's tag (too long, a line break, ...): [] when nothing."""
    try:
        values.parse_tag(tag or "")
    except InvalidValue as exc:
        return [str(exc)]
    return []


def _problems(
    body: StartRequest, columns: list[str], existing: dict[str, str], has_rows: bool = True
) -> list[str]:
    problems: list[str] = []
    if not has_rows:
        problems.append("the file has a header but no rows: add at least one row to import")
    known = set(columns)
    for field, column in body.mapping.items():
        if field not in fields.MAPPING_TARGETS:
            problems.append(
                f"mapping.{field}: unknown field; map columns to {', '.join(fields.MAPPABLE)}"
                " (other columns can be custom_attributes)"
            )
        elif column not in known:
            problems.append(f"mapping.{field}: the file has no column {column!r}")
    if "email" not in body.mapping:
        problems.append("mapping.email is required: choose the column that holds email addresses")
    if "name_last" in body.mapping and "name" not in body.mapping:
        problems.append("mapping.name_last needs mapping.name (the first-name column)")
    if body.kind == "leads" and "user_id" in body.mapping:
        problems.append("mapping.user_id: leads have no user_id; import them as users instead")
    seen: dict[str, str] = {}
    lower_existing = {fold(name) for name in existing}
    new_names = 0
    for column, name in body.custom_attributes.items():
        if column not in known:
            problems.append(f"custom_attributes: the file has no column {column!r}")
        for problem in values.check_attribute_name(name):
            problems.append(f"custom_attributes.{column}: {problem}")
        lower = fold(name)
        if lower in seen:
            problems.append(
                f"custom_attributes.{column}: {name!r} is already used for column {seen[lower]!r}"
                " (names are case-insensitive)"
            )
        seen[lower] = column
        if lower not in lower_existing:
            new_names += 1
    if len(existing) + new_names > MAX_ATTRIBUTES:
        problems.append(
            f"custom_attributes: a workspace has at most {MAX_ATTRIBUTES} custom attributes;"
            f" it has {len(existing)} and this import would add {new_names}"
        )
    problems.extend(tag_problems(body.tag))
    if body.default_country is not None and (
        body.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS
    ):
        problems.append(
            f"default_country: {body.default_country!r} is not an ISO 3166 alpha-2 country code"
        )
    if body.encoding is not None and body.encoding not in ENCODINGS:
        problems.append(f"encoding: use one of {', '.join(ENCODINGS)}")
    if body.delimiter is not None and body.delimiter not in DELIMITERS:
        problems.append("delimiter: use one of ',', ';', tab or '|'")
    return problems


def _json_problems(body: StartRequest) -> list[str]:
    """A Mixpanel export is mapped automatically (SPEC §3): only the options apply."""
    problems: list[str] = []
    if body.mapping or body.custom_attributes:
        problems.append(
            "a mixpanel_file import is mapped automatically ($email, $name, $created, …; other"
            " properties become custom attributes): leave mapping and custom_attributes out"
        )
    if body.encoding is not None or body.delimiter is not None:
        problems.append("encoding and delimiter apply to CSV files only")
    problems.extend(tag_problems(body.tag))
    if body.default_country is not None and (
        body.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS
    ):
        problems.append(
            f"default_country: {body.default_country!r} is not an ISO 3166 alpha-2 country code"
        )
    return problems


@router.post("/{import_id}/start", status_code=202)
async def start(
    import_id: str, body: StartRequest, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    """Validate the mapping (every problem at once) and queue the import for the parser."""
    app = request.app
    row = await repo.get_import(app.state.pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    if row["status"] != "uploaded":
        raise ApiError(
            409,
            "conflict",
            f"the import is already {row['status']}; upload the file again to re-import it",
        )
    existing = await people_store.attribute_types(app.state.pool, workspace.id)
    columns: list[str] = row["columns"]
    has_rows = bool(row["preview"])
    if row["source"] == "mixpanel_file":
        problems = _json_problems(body)
    else:
        problems = _problems(body, columns, existing, has_rows)
    if row["source"] != "mixpanel_file" and (body.encoding or body.delimiter) and not problems:
        try:
            detected = Detected(
                body.encoding or row["detected"]["encoding"],
                body.delimiter or row["detected"]["delimiter"],
            )
            columns, _ = csvfile.read_header_and_preview(
                Path(app.state.settings.storage_dir) / row["file_key"], detected
            )
            problems = _problems(body, columns, existing, has_rows)
        except FileProblem as exc:
            problems.append(f"the file cannot be read with that encoding/delimiter: {exc}")
    if problems:
        summary = problems[0] if len(problems) == 1 else f"{len(problems)} problems to fix"
        raise invalid(f"the import cannot start: {summary}", problems)
    options = body.model_dump()
    options["tag"] = body.tag.strip() if body.tag and body.tag.strip() else None
    options["default_country"] = body.default_country.upper() if body.default_country else None
    options["chunk_rows"] = app.state.settings.chunk_rows
    if row["source"] == "mixpanel_file":
        options["format"] = row["detected"]["format"]
    async with app.state.pool.acquire() as conn:
        if columns != row["columns"]:
            await conn.execute("UPDATE imports SET columns = $2 WHERE id = $1", import_id, columns)
        queued = await repo.queue_import(
            conn, import_id, body.kind, options["tag"], body.trigger_messages, options
        )
    if not queued:
        raise ApiError(409, "conflict", "the import was already started")
    await request_import(app, workspace.id, import_id)
    row = await repo.get_import(app.state.pool, workspace.id, import_id)
    return public_import(row)


@router.get("")
async def history(
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("pair"))],
) -> dict[str, Any]:
    rows = await repo.list_imports(
        request.app.state.pool, workspace.id, paging.limit + 1, paging.after
    )
    return paging.page([public_import(r) for r in rows], lambda i: (i["created_at"], i["id"]))


@router.get("/{import_id}")
async def one(import_id: str, request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    row = await repo.get_import(request.app.state.pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    return public_import(row)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Spreadsheet formula injection: a cell that a spreadsheet would evaluate gets a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


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


async def _errors(
    request: Request, row: Any, after: int = 0, page: int = 5000, pages: int | None = None
) -> AsyncIterator[list[tuple[int, list[str], list[str]]]]:
    """The report's records after row ``after``, in row order, in pages of ``page`` (at most
    ``pages`` of them): ``(row, errors, cells)``."""
    pool = request.app.state.pool
    options = row["options"] or {}
    json_source = row["source"] in jsonimports.JSON_SOURCES
    detected = (
        Detected(
            options.get("encoding") or row["detected"]["encoding"],
            options.get("delimiter") or row["detected"]["delimiter"],
        )
        if row["detected"] and not json_source
        else None
    )
    path = Path(request.app.state.settings.storage_dir) / (row["file_key"] or "-")
    while pages is None or pages > 0:
        batch = await repo.error_rows(pool, row["id"], after, page)
        if not batch:
            return
        if pages is not None:
            pages -= 1
        missing = {r["row_no"] for r in batch if r["cells"] is None}
        filled: dict[int, list[str]] = {}
        if missing and json_source:
            filled = await asyncio.to_thread(
                jsonimports.fill_texts, path, options.get("format"), missing
            )
        elif missing and detected:
            filled = await asyncio.to_thread(_fill_cells, path, detected, missing)
        yield [
            (
                r["row_no"],
                r["errors"],
                r["cells"] if r["cells"] is not None else filled.get(r["row_no"], []),
            )
            for r in batch
        ]
        after = batch[-1]["row_no"]


@router.get("/{import_id}/errors", response_model=None)
async def error_report(
    import_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("int"))],
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> StreamingResponse | JSONResponse:
    """Every failed record: its row number, every error and its original values. The CSV is
    the whole report, streamed; ``format=json`` is one page of it (``limit``, ``cursor``)."""
    row = await repo.get_import(request.app.state.pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    json_source = row["source"] in jsonimports.JSON_SOURCES
    # A JSON record is one cell: its original JSON (in the CSV report, the column "record").
    columns: list[str] = [jsonimports.REPORT_COLUMN] if json_source else row["columns"] or []
    if format == "json":
        data: list[dict[str, Any]] = []
        async for batch in _errors(request, row, paging.after or 0, paging.limit + 1, 1):
            for number, errors, cells in batch:
                shown = jsonimports.report_values(cells) if json_source else _values(columns, cells)
                data.append({"row": number, "errors": errors, "values": shown})
        return JSONResponse(paging.page(data, lambda e: e["row"]))

    async def body() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["row", "errors", *(neutralise(c) for c in columns)])
        async for batch in _errors(request, row):
            for number, errors, cells in batch:
                writer.writerow(
                    [number, neutralise("; ".join(errors)), *(neutralise(c) for c in cells)]
                )
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        if buffer.getvalue():
            yield buffer.getvalue().encode("utf-8")

    name = f"errors-{import_id}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _values(columns: list[str], cells: list[str]) -> dict[str, str]:
    out = dict(zip(columns, cells, strict=False))
    for i, cell in enumerate(cells[len(columns) :], start=1):
        out[f"(extra {i})"] = cell
    return out
