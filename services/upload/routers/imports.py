"""Imports: upload a file, start it with a mapping, follow it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.upload import column_mapping, jsonimports, mappings, outcomes, rules, storage
from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.schemas import ImportPublic, ImportWaits, MessageReach, Page
from shared import csvfile, import_store, people_store
from shared.csvfile import Detected
from shared.errors import FileProblem
from shared.ids import new_id
from shared.values import fold

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
        offer = await _offer(conn, workspace_id, source, columns, preview, described)
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
            **offer,
        )
    return ImportPublic.from_row(row)


async def _offer(
    conn: Any,
    workspace_id: str,
    source: str,
    columns: list[str],
    preview: list[list[str]],
    described: dict[str, Any],
) -> dict[str, Any]:
    """What the mapping step offers for an upload's columns and first rows (SPEC §6.5): the
    mapping an earlier import of the same header set was started with ("remembered", with its
    attributes and options), else the suggestion from the columns and their values; the type
    of each column as a new attribute; the date order the dates say (into ``described``)."""
    if source == "mixpanel_file":  # mapped by the SPEC's rules, not by columns
        return {"suggested_mapping": {}, "fresh_mapping": {}, "column_types": {}}
    fresh = column_mapping.suggested_mapping(columns, source, preview)
    offer: dict[str, Any] = {
        "suggested_mapping": fresh,
        "fresh_mapping": fresh,
        "mapping_source": "suggested",
        "remembered": None,
        "column_types": column_mapping.column_types(columns, preview),
    }
    earlier = await mappings.find(conn, workspace_id, columns)
    if earlier is not None:
        offer["suggested_mapping"] = mappings.translate(earlier["mapping"], columns)
        offer["mapping_source"] = "remembered"
        offer["remembered"] = mappings.remembered_answer(earlier, columns)
    order = column_mapping.date_order(offer["suggested_mapping"], columns, preview)
    described.pop("date_order", None)
    if order is not None:
        described["date_order"] = order
    return offer


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoding: str | None = None
    delimiter: str | None = None


@router.post("/{import_id}/preview", response_model=ImportPublic)
async def preview_again(
    import_id: str,
    body: PreviewRequest,
    workspace: CurrentWorkspace,
    pool: Pool,
    settings: Settings,
) -> ImportPublic:
    """Read an uploaded file again with another encoding or delimiter: its columns, first rows
    and what the mapping step offers for them, as the upload's answer gave them."""
    row = await repo.get_import(pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    if row["source"] == "mixpanel_file":
        raise invalid("a Mixpanel export is JSON: it has no encoding or delimiter to choose")
    if row["status"] != "uploaded":
        raise ApiError(
            409, "conflict", f"the import is already {row['status']}: its file is read as it was"
        )
    problems = rules.reading_problems(body.encoding, body.delimiter)
    if problems:
        raise invalid(f"the file cannot be read so: {rules.summary(problems)}", problems)
    detected = Detected(
        body.encoding or row["detected"]["encoding"], body.delimiter or row["detected"]["delimiter"]
    )
    path = Path(settings.storage_dir) / row["file_key"]
    try:
        columns, preview = await asyncio.to_thread(csvfile.read_header_and_preview, path, detected)
    except FileProblem as exc:
        raise invalid(f"the file cannot be read with that encoding/delimiter: {exc}") from None
    described: dict[str, Any] = {"encoding": detected.encoding, "delimiter": detected.delimiter}
    async with pool.acquire() as conn:
        offer = await _offer(conn, workspace.id, row["source"], columns, preview, described)
        await repo.set_described(
            conn, import_id, detected=described, columns=columns, preview=preview, **offer
        )
    return ImportPublic.from_row(await repo.get_import(pool, workspace.id, import_id))


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
    # The types of new custom attributes (attribute name -> type); the others are inferred.
    attribute_types: dict[str, str] = Field(default_factory=dict, max_length=1000)

    def rules(self) -> rules.Start:
        return rules.Start(
            kind=self.kind,
            mapping=self.mapping,
            custom_attributes=self.custom_attributes,
            tag=self.tag,
            default_country=self.default_country,
            encoding=self.encoding,
            delimiter=self.delimiter,
            attribute_types=self.attribute_types,
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
    previewed = row["status"] == "previewed" or (row["status"] == "cancelled" and row["dry_run"])
    if row["status"] != "uploaded" and not previewed:
        raise ApiError(
            409,
            "conflict",
            f"the import is already {row['status']}; upload the file again to re-import it",
        )
    if row["file_key"] and not (Path(settings.storage_dir) / row["file_key"]).exists():
        raise ApiError(
            409, "conflict", "the uploaded file is gone (deleted or expired): upload it again"
        )
    if body is None:
        stored = row["options"] if previewed else None
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
        if queued and not json_file:
            await mappings.remember(
                conn,
                workspace_id,
                import_id=import_id,
                file_name=row["file_name"],
                columns=columns,
                options=options,
                attribute_types=_attribute_types(body, existing, row["column_types"] or {}),
            )
    if not queued:
        if await repo.get_import(pool, workspace_id, import_id) is None:
            raise not_found("import")  # deleted (or expired) meanwhile
        raise ApiError(409, "conflict", "the import was already started")
    await import_store.request(producer, settings, workspace_id, import_id)
    return ImportPublic.from_row(await repo.get_import(pool, workspace_id, import_id))


def _attribute_types(
    body: StartRequest, existing: dict[str, str], column_types: dict[str, str]
) -> dict[str, str]:
    """The type of each custom attribute of a start (as a remembered mapping keeps them): an
    existing attribute's, the one chosen for a new one, else the one its column suggests."""
    stored = {fold(n): t for n, t in existing.items()}
    chosen = {fold(n): t for n, t in body.attribute_types.items()}
    return {
        name: stored.get(fold(name)) or chosen.get(fold(name)) or column_types.get(column, "string")
        for column, name in body.custom_attributes.items()
    }


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
    row = await _allowed(pool, workspace.id, import_id, rules.undo_refusal)
    undo_id = new_id("imp_")
    async with pool.acquire() as conn:
        if not await repo.start_undo(conn, workspace.id, row, undo_id):
            raise ApiError(409, "conflict", "the import was undone already")
    await import_store.request(producer, settings, workspace.id, undo_id)
    return ImportPublic.from_row(await repo.get_import(pool, workspace.id, undo_id))


async def _allowed(
    pool: Pool, workspace_id: str, import_id: str, refusal: Callable[[Any], str | None]
) -> Any:
    """The workspace's import, if ``refusal`` lets it be undone, cancelled or deleted: 404 for
    another workspace's or none, 409 with the rule's reason."""
    row = await repo.get_import(pool, workspace_id, import_id)
    if row is None:
        raise not_found("import")
    reason = refusal(row)
    if reason is not None:
        raise ApiError(409, "conflict", reason)
    return row


@router.post("/{import_id}/cancel", status_code=202, response_model=ImportPublic)
async def cancel(import_id: str, workspace: CurrentWorkspace, pool: Pool) -> ImportPublic:
    """Stop a queued or running import (a dry run too) after the chunk being applied: it ends
    ``cancelled``; what its applied chunks did stays and is counted exactly (``counts.rows`` =
    created + updated + failed), the rest is ``rows_not_processed``. 409 once it has ended,
    for an upload never started (delete it), and for an undo."""
    row = await _allowed(pool, workspace.id, import_id, rules.cancel_refusal)
    try:
        async with pool.acquire() as conn, conn.transaction():
            cancelled = await import_store.cancel(conn, workspace.id, import_id)
    except asyncpg.LockNotAvailableError:
        raise ApiError(
            503, "busy", "the import is applying a large chunk of records: cancel it again"
        ) from None
    row = await repo.get_import(pool, workspace.id, import_id)
    assert row is not None  # an import that ran is never deleted
    if not cancelled:  # it ended between the two reads
        raise ApiError(409, "conflict", rules.cancel_refusal(row) or "the import has ended")
    return ImportPublic.from_row(row)


@router.delete("/{import_id}", status_code=204)
async def delete_upload(
    import_id: str, workspace: CurrentWorkspace, pool: Pool, settings: Settings
) -> Response:
    """Delete an upload never started: its stored file and its entry. 409 for an import that
    was started (cancel a running one; a finished one stays in the history)."""
    await _allowed(pool, workspace.id, import_id, rules.delete_refusal)
    async with pool.acquire() as conn:
        deleted = await import_store.delete_upload(
            conn, Path(settings.storage_dir), workspace.id, import_id
        )
    if not deleted:  # started (or deleted) between the two reads
        again = await repo.get_import(pool, workspace.id, import_id)
        if again is None:
            raise not_found("import")
        raise ApiError(409, "conflict", rules.delete_refusal(again) or "the upload was started")
    return Response(status_code=204)


@router.get("", response_model=Page[ImportPublic])
async def history(workspace: CurrentWorkspace, pool: Pool, paging: PageByTime) -> dict[str, Any]:
    """The import history, newest first."""
    rows = await repo.list_imports(pool, workspace.id, paging.limit + 1, paging.after)
    return paging.page([ImportPublic.from_row(r) for r in rows], lambda i: (i.created_at, i.id))


@router.get("/{import_id}", response_model=ImportPublic)
async def one(
    import_id: str, workspace: CurrentWorkspace, pool: Pool, settings: Settings
) -> ImportPublic:
    """One import; a finished real import's ``summary.messages`` count its deliveries so far, a
    running one's ``eta_seconds`` its time left, a waiting one's ``waiting`` why it waits."""
    row = await repo.get_import(pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    shown = ImportPublic.from_row(row)
    if shown.summary is not None and not row["dry_run"] and row["source"] != "undo":
        reached = await import_store.delivered(pool, import_id)
        suppressed = (row["options"] or {}).get("suppress_messages")
        messages = await import_store.message_summary(pool, workspace.id, reached, suppressed)
        shown.summary.messages = [MessageReach(**m) for m in messages]
    if row["status"] in outcomes.RUNNING:
        await _how_it_goes(pool, settings, row, shown)
    return shown


async def _how_it_goes(pool: Pool, settings: Settings, row: Any, shown: ImportPublic) -> None:
    """A running import's time left, or why it waits (services.upload.outcomes)."""
    if shown.rows_done:
        first_rows, first_at, now = await repo.first_chunk(pool, row["id"])
        denominator = shown.rows_total if shown.rows_total is not None else shown.rows_estimate
        if row["source"] != "undo":  # an undo's chunks count no records
            shown.eta_seconds = outcomes.eta_seconds(
                shown.rows_done, denominator, first_rows, first_at, now
            )
        return
    remote = row["source"] in import_store.REMOTE_SOURCES
    ahead, count = await repo.imports_ahead(
        pool,
        row["workspace_id"],
        row["id"],
        row["queued_at"] or row["created_at"],
        import_store.REMOTE_SOURCES,
        remote,
    )
    why = outcomes.waiting(
        row["status"], 0, remote, ahead, count, count, settings.pulls_per_workspace
    )
    if why is not None:
        reason, other = why
        shown.waiting = ImportWaits(
            reason=reason,
            import_id=other["id"] if other else None,
            file_name=other["file_name"] if other else None,
            source=other["source"] if other else None,
            queued_at=other["queued_at"] if other else None,
            ahead=count if reason == "earlier_import" else 0,
        )
