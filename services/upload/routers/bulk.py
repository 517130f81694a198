"""``POST /api/users/bulk``: up to 100,000 contacts in one request, imported like a file.

The body (a JSON array of contacts, or NDJSON with ``Content-Type: application/x-ndjson``) is
streamed to ``USHER_STORAGE_DIR``, checked for well-formed JSON and counted, and queued as an
import with ``source: "api"``: the parser validates each contact like ``POST /api/users`` and
the merger applies them by the identity rules, with history, counts and an error report.

Each contact's ``role`` (default ``user``) says whether it is applied as a user or as a lead, as
in ``POST /api/users``; the import's ``kind`` is ``leads`` when every contact is a lead, else
``users``. Query parameters: ``tag``, ``trigger_messages``, ``date_order``, ``default_country``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.upload import jsonimports, rules, storage
from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid
from services.upload.schemas import ImportPublic
from shared import import_store
from shared.errors import FileProblem
from shared.ids import new_id
from shared.jsonfile import Format, detect_format, is_ndjson

router = APIRouter(prefix="/api/users", tags=["people"])

MAX_CONTACTS = 100_000


def _format(content_type: str, path: Path) -> Format:
    found = detect_format(path)
    if is_ndjson(content_type):
        if found != "ndjson":
            raise FileProblem("an NDJSON body has one JSON object a line, not an array")
        return "ndjson"
    if content_type.split(";", 1)[0].strip().lower().endswith("json") and found != "json":
        raise FileProblem(
            "the body must be a JSON array of contacts (for one contact use POST /api/users;"
            " for NDJSON send Content-Type: application/x-ndjson)"
        )
    return found


async def _scan(content_type: str, path: Path) -> tuple[Format, int, bool]:
    """``(format, records, all leads?)`` of a stored body; ApiError when it cannot be queued."""
    try:
        fmt = _format(content_type, path)
        count, all_leads = await asyncio.to_thread(jsonimports.scan_bulk, path, fmt, MAX_CONTACTS)
    except FileProblem as exc:
        raise invalid(str(exc).replace("the file ", "the body ", 1)) from None
    if count > MAX_CONTACTS:
        raise ApiError(
            413,
            "too_large",
            f"at most {MAX_CONTACTS:,} contacts per request: split the list into several requests",
            {"max_contacts": MAX_CONTACTS},
        )
    if count == 0:
        raise invalid("there are no contacts in the body: send a JSON array of contacts")
    return fmt, count, all_leads


@router.post("/bulk", status_code=202, response_model=ImportPublic)
async def bulk(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    tag: Annotated[str | None, Query(max_length=255)] = None,
    trigger_messages: bool = True,
    date_order: Literal["DMY", "MDY"] = "DMY",
    default_country: str | None = None,
) -> ImportPublic:
    """Queue an import of the contacts in the body → 202 with the import."""
    problems = rules.common_problems(tag, default_country)
    if problems:
        raise invalid(problems[0], problems)
    common = rules.CommonOptions.of(tag, default_country)
    body = await storage.receive_body(
        request, Path(settings.storage_dir), settings.max_upload_bytes
    )
    import_id = new_id("imp_")
    try:
        fmt, count, all_leads = await _scan(request.headers.get("content-type", ""), body.path)
        kind = "leads" if all_leads else "users"
        options = {
            "kind": kind,
            "tag": common.tag,
            "trigger_messages": trigger_messages,
            "date_order": date_order,
            "default_country": common.default_country,
            "format": fmt,
            "records": count,
            "chunk_rows": settings.chunk_rows,
        }
        async with pool.acquire() as conn:
            await repo.insert_import(
                conn,
                id=import_id,
                workspace_id=workspace.id,
                source="api",
                kind=kind,
                status="queued",
                tag=common.tag,
                trigger_messages=trigger_messages,
                file_key=body.key,
                file_name=f"{count:,} contacts (POST /api/users/bulk)",
                file_size=body.size,
                options=options,
                rows_estimate=count,
            )
    except BaseException:  # an ApiError, or anything else: the body must not stay behind
        body.path.unlink(missing_ok=True)
        raise
    await import_store.request(producer, settings, workspace.id, import_id)
    return ImportPublic.from_row(await repo.get_import(pool, workspace.id, import_id))
