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
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, Query, Request
from starlette.requests import ClientDisconnect

from services.upload import jsonimports, storage
from services.upload import repository as repo
from services.upload.auth import CurrentWorkspace
from services.upload.errors import ApiError, invalid
from services.upload.queueing import request_import
from services.upload.routers.imports import public_import, tag_problems
from shared.errors import FileProblem
from shared.ids import new_id
from shared.jsonfile import Format, detect_format

router = APIRouter(prefix="/api/users", tags=["people"])

MAX_CONTACTS = 100_000
_NDJSON_TYPES = ("ndjson", "jsonl", "json-lines", "jsonlines")


async def store_body(request: Request, storage_dir: Path, limit: int) -> tuple[str, Path, int]:
    """Stream the request body to a new file; ``(key, path, size)``. 413 past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise storage.too_large(limit)
    storage_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one cheap call
    key = storage.new_key()
    path = storage.path_for(storage_dir, key)
    size = 0
    try:
        with open(path, "wb") as out:  # noqa: ASYNC230 - local disk, one block at a time
            async for block in request.stream():
                size += len(block)
                if size > limit:
                    raise storage.too_large(limit)
                out.write(block)
    except ClientDisconnect:
        os.unlink(path)
        raise ApiError(400, "incomplete", "the body was cut off; send it again") from None
    except BaseException:
        os.unlink(path)
        raise
    return key, path, size


def _format(content_type: str, path: Path) -> Format:
    declared = content_type.split(";", 1)[0].strip().lower()
    found = detect_format(path)
    if any(name in declared for name in _NDJSON_TYPES):
        if found != "ndjson":
            raise FileProblem("an NDJSON body has one JSON object a line, not an array")
        return "ndjson"
    if declared.endswith("json") and found != "json":
        raise FileProblem(
            "the body must be a JSON array of contacts (for one contact use POST /api/users;"
            " for NDJSON send Content-Type: application/x-ndjson)"
        )
    return found


@router.post("/bulk", status_code=202)
async def bulk(
    request: Request,
    workspace: CurrentWorkspace,
    tag: Annotated[str | None, Query(max_length=255)] = None,
    trigger_messages: bool = True,
    date_order: Literal["DMY", "MDY"] = "DMY",
    default_country: str | None = None,
) -> dict[str, Any]:
    """Queue an import of the contacts in the body → 202 with the import."""
    app = request.app
    settings = app.state.settings
    country = default_country.strip().upper() if default_country else None
    if country is not None and country not in phonenumbers.SUPPORTED_REGIONS:
        raise invalid(f"default_country: {country!r} is not an ISO 3166 alpha-2 country code")
    for problem in tag_problems(tag):
        raise invalid(problem)
    key, path, size = await store_body(
        request, Path(settings.storage_dir), settings.max_upload_bytes
    )
    try:
        fmt = _format(request.headers.get("content-type", ""), path)
        count, all_leads = await asyncio.to_thread(jsonimports.scan_bulk, path, fmt, MAX_CONTACTS)
        if count > MAX_CONTACTS:
            raise ApiError(
                413,
                "too_large",
                f"at most {MAX_CONTACTS:,} contacts per request: split the list into several"
                " requests",
                {"max_contacts": MAX_CONTACTS},
            )
        if count == 0:
            raise invalid("there are no contacts in the body: send a JSON array of contacts")
    except FileProblem as exc:
        path.unlink(missing_ok=True)
        raise invalid(str(exc).replace("the file ", "the body ", 1)) from None
    except BaseException:  # an ApiError, or anything else: the body must not stay behind
        path.unlink(missing_ok=True)
        raise
    kind = "leads" if all_leads else "users"
    tag_name = tag.strip() if tag and tag.strip() else None
    options = {
        "kind": kind,
        "tag": tag_name,
        "trigger_messages": trigger_messages,
        "date_order": date_order,
        "default_country": country,
        "format": fmt,
        "records": count,
        "chunk_rows": settings.chunk_rows,
    }
    import_id = new_id("imp_")
    try:
        await _record(app, workspace.id, import_id, key, count, size, kind, tag_name, options)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    await request_import(app, workspace.id, import_id)
    return public_import(await repo.get_import(app.state.pool, workspace.id, import_id))


async def _record(
    app: Any,
    workspace_id: str,
    import_id: str,
    key: str,
    count: int,
    size: int,
    kind: str,
    tag_name: str | None,
    options: dict[str, Any],
) -> None:
    async with app.state.pool.acquire() as conn:
        await repo.insert_import(
            conn,
            id=import_id,
            workspace_id=workspace_id,
            source="api",
            kind=kind,
            status="queued",
            tag=tag_name,
            trigger_messages=options["trigger_messages"],
            file_key=key,
            file_name=f"{count:,} contacts (POST /api/users/bulk)",
            file_size=size,
            options=options,
            rows_estimate=count,
        )
