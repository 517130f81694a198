"""Imports: upload a file, start it with a mapping, follow it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.upload import column_mapping, jsonimports, rules, storage
from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.schemas import ImportPublic, MessageReach, Page
from shared import csvfile, import_store, people_store
from shared.csvfile import Detected
from shared.errors import FileProblem
from shared.ids import new_id

router = APIRouter(prefix="/api/imports", tags=["imports"])


@router.post("", status_code=201, response_model=ImportPublic)
async def upload(
    request: Request, workspace: CurrentWorkspace, pool: Pool, settings: Settings
) -> ImportPublic:
    """Store a CSV file (streamed, constant memory) and describe it for the mapping step."""
    received = await storage.receive_file(
        request, Path(settings.storage_dir), settings.max_upload_bytes
    )
    source = received.fields.get("source", "csv") or "csv"
    try:
        return await _describe(pool, workspace.id, received, source)
    except BaseException:  # the file must not stay behind (a 4xx, a 500, a client gone)
        received.path.unlink(missing_ok=True)
        raise


async def _describe(
    pool: Pool, workspace_id: str, received: storage.Upload, source: str
) -> ImportPublic:
    """Check a stored upload and record it as an import; ApiError says what is wrong."""
    try:
        if source not in rules.FILE_SOURCES:
            raise invalid(
                f"source {source!r} is not a file source:"
                f" use one of {', '.join(rules.FILE_SOURCES)}"
            )
        if received.size == 0:
            raise invalid("the file is empty: export it again with a header row and data rows")
        if source == "mixpanel_file":
            fmt, columns, preview = await asyncio.to_thread(
                jsonimports.describe_mixpanel_file, received.path
            )
            described: dict[str, Any] = {"encoding": "utf-8", "delimiter": None, "format": fmt}
        else:
            detected = await asyncio.to_thread(csvfile.detect, received.path)
            columns, preview = await asyncio.to_thread(
                csvfile.read_header_and_preview, received.path, detected
            )
            described = {"encoding": detected.encoding, "delimiter": detected.delimiter}
    except FileProblem as exc:
        raise invalid(str(exc)) from None
    async with pool.acquire() as conn:
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
    return ImportPublic.from_row(row)


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
    # The message policy (SPEC §6.2): every live auto message but these may be sent.
    suppress_messages: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=1000
    )
    invalid_values: Literal["fail_record", "skip_value"] = "fail_record"
    allow_shared_columns: bool = False  # one column mapped to two fields is meant

    def rules(self) -> rules.Start:
        return rules.Start(
            kind=self.kind,
            mapping=self.mapping,
            custom_attributes=self.custom_attributes,
            tag=self.tag,
            default_country=self.default_country,
            encoding=self.encoding,
            delimiter=self.delimiter,
        )


@router.post("/{import_id}/start", status_code=202, response_model=ImportPublic)
async def start(
    import_id: str,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    body: StartRequest | None = None,
) -> ImportPublic:
    """Validate the mapping (every problem at once) and queue the import for the parser. On a
    previewed import (a dry run's), commit it: with the dry run's options unless a body is
    given."""
    return await _queue(import_id, body, workspace.id, pool, producer, settings, dry_run=False)


@router.post("/{import_id}/dry-run", status_code=202, response_model=ImportPublic)
async def dry_run(
    import_id: str,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    body: StartRequest | None = None,
) -> ImportPublic:
    """Run the whole import without changing anything (SPEC §6.1): it ends ``previewed``
    with the counts, summary and diff it would have; ``start`` then commits it."""
    return await _queue(import_id, body, workspace.id, pool, producer, settings, dry_run=True)


async def _queue(
    import_id: str,
    body: StartRequest | None,
    workspace_id: str,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    *,
    dry_run: bool,
) -> ImportPublic:
    row = await repo.get_import(pool, workspace_id, import_id)
    if row is None:
        raise not_found("import")
    if row["status"] not in ("uploaded", "previewed"):
        raise ApiError(
            409,
            "conflict",
            f"the import is already {row['status']}; upload the file again to re-import it",
        )
    if body is None:
        stored = row["options"] if row["status"] == "previewed" else None
        body = StartRequest.model_validate(_request_options(stored or {}))
    existing = await people_store.attribute_types(pool, workspace_id)
    columns: list[str] = row["columns"]
    json_file = row["source"] == "mixpanel_file"
    start = body.rules()
    has_rows = bool(row["preview"])
    if json_file:
        problems = rules.json_start_problems(start)
    else:
        problems = rules.start_problems(start, columns, existing, has_rows)
    if not json_file and (body.encoding or body.delimiter) and not problems:
        try:
            detected = Detected(
                body.encoding or row["detected"]["encoding"],
                body.delimiter or row["detected"]["delimiter"],
            )
            path = Path(settings.storage_dir) / row["file_key"]
            columns, _ = await asyncio.to_thread(csvfile.read_header_and_preview, path, detected)
            problems = rules.start_problems(start, columns, existing, has_rows)
        except FileProblem as exc:
            problems.append(f"the file cannot be read with that encoding/delimiter: {exc}")
    if not json_file and not problems:
        refused, _warnings = rules.sample_problems(  # the UI shows the warnings as one maps
            body.mapping,
            columns,
            row["preview"] or [],
            default_country=body.default_country,
            date_order=body.date_order,
            allow_shared_columns=body.allow_shared_columns,
        )
        problems.extend(refused)
    if body.suppress_messages:
        known = await repo.message_ids(pool, workspace_id, body.suppress_messages)
        problems.extend(
            f"suppress_messages: there is no message {m!r} in this workspace"
            for m in dict.fromkeys(body.suppress_messages)
            if m not in known
        )
    if problems:
        raise invalid(f"the import cannot start: {rules.summary(problems)}", problems)
    common = rules.CommonOptions.of(body.tag, body.default_country)
    options = body.model_dump()
    options.update(tag=common.tag, default_country=common.default_country)
    options["suppress_messages"] = list(dict.fromkeys(body.suppress_messages))
    options["chunk_rows"] = settings.chunk_rows
    if json_file:
        options["format"] = row["detected"]["format"]
    async with pool.acquire() as conn:
        if columns != row["columns"]:
            await repo.set_columns(conn, import_id, columns)
        queued = await repo.queue_import(
            conn, import_id, body.kind, common.tag, body.trigger_messages, options, dry_run
        )
    if not queued:
        raise ApiError(409, "conflict", "the import was already started")
    await import_store.request(producer, settings, workspace_id, import_id)
    return ImportPublic.from_row(await repo.get_import(pool, workspace_id, import_id))


def _request_options(stored: dict[str, Any]) -> dict[str, Any]:
    """The start body a stored options object came from (what the import adds is left out)."""
    return {k: v for k, v in stored.items() if k in StartRequest.model_fields}


@router.post("/{import_id}/undo", status_code=202, response_model=ImportPublic)
async def undo(
    import_id: str,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> ImportPublic:
    """Take back what an import did (SPEC §6.3): a new import in the history (``source:
    "undo"``) deletes the contacts it created and restores what it changed, keeping what anyone
    changed since; its sends not made yet are cancelled."""
    row = await repo.get_import(pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    refusal = rules.undo_refusal(row)
    if refusal is not None:
        raise ApiError(409, "conflict", refusal)
    undo_id = new_id("imp_")
    async with pool.acquire() as conn:
        if not await repo.start_undo(conn, workspace.id, row, undo_id):
            raise ApiError(409, "conflict", "the import was undone already")
    await import_store.request(producer, settings, workspace.id, undo_id)
    return ImportPublic.from_row(await repo.get_import(pool, workspace.id, undo_id))


@router.get("", response_model=Page[ImportPublic])
async def history(workspace: CurrentWorkspace, pool: Pool, paging: PageByTime) -> dict[str, Any]:
    """The import history, newest first."""
    rows = await repo.list_imports(pool, workspace.id, paging.limit + 1, paging.after)
    return paging.page([ImportPublic.from_row(r) for r in rows], lambda i: (i.created_at, i.id))


@router.get("/{import_id}", response_model=ImportPublic)
async def one(import_id: str, workspace: CurrentWorkspace, pool: Pool) -> ImportPublic:
    """One import; a finished real import's ``summary.messages`` count its deliveries so far."""
    row = await repo.get_import(pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    shown = ImportPublic.from_row(row)
    if shown.summary is not None and not row["dry_run"] and row["source"] != "undo":
        reached = await import_store.delivered(pool, import_id)
        suppressed = (row["options"] or {}).get("suppress_messages")
        messages = await import_store.message_summary(pool, workspace.id, reached, suppressed)
        shown.summary.messages = [MessageReach(**m) for m in messages]
    return shown
