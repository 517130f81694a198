"""Segment's tracking API (SPEC §7) at ``/segment``: the official libraries work against Usher
with only their host changed.

``POST /v1/batch`` is what segment-analytics-python calls for every message; ``/v1/identify``,
``/v1/track``, ``/v1/alias``, ``/v1/group``, ``/v1/page`` and ``/v1/screen`` take one message
(other Segment libraries, plain HTTP). The write key is the workspace token — Basic auth
``<token>:`` (checked by the guard before the body is read) or the body's ``writeKey``. A
request is applied in one transaction: its new messages (a messageId seen before is a retry
and is skipped) in order, identifies through the one write path (``shared.changes``) a run of
them at a time, tracks as events. The answer is 200 unless the request as a whole is unusable
— the library drops a batch silently on any 4xx and retries 5xx — and each message's problems
are kept for ``GET /api/ingestion-errors``. The workspace lock is taken first: a retry that
arrives while its first attempt is being applied waits, then finds its messageIds done.
"""

from __future__ import annotations

import secrets
import zlib
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from services.upload import auth, event_store, ingestion, segment
from services.upload.deps import Pool, Producer, Settings
from services.upload.errors import ApiError
from services.upload.guard import SEGMENT_MAX_BYTES
from services.upload.rules import MAX_ATTRIBUTES
from shared import changes, jsonfile, people_store
from shared.ids import new_id
from shared.records import contact_record
from shared.topics import CONTACT_CHANGES

router = APIRouter(prefix="/segment/v1", tags=["segment"])

MAX_BYTES = SEGMENT_MAX_BYTES  # per request, after gzip too (Segment's own limit)
SOURCE = "segment"


def _refuse(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Segment's error shape: the library reads ``code`` and ``message``."""
    return JSONResponse(
        {"success": False, "code": code, "message": message}, status_code=status, headers=headers
    )


@router.post("/batch")
async def batch(request: Request, pool: Pool, producer: Producer, settings: Settings) -> Any:
    """A batch of messages (``{"batch": [...], "sentAt", "writeKey"}``)."""
    return await _receive(request, pool, producer, settings, single=False)


@router.post("/{kind}")
async def single(
    kind: str, request: Request, pool: Pool, producer: Producer, settings: Settings
) -> Any:
    """One message, its type from the path (identify, track, alias, group, page, screen)."""
    if kind not in ("identify", "track", *segment.IGNORED_TYPES):
        return _refuse(404, "not_found", f"/segment/v1/{kind} is not a Segment endpoint")
    return await _receive(request, pool, producer, settings, single=True, kind=kind)


async def _receive(
    request: Request,
    pool: asyncpg.Pool,
    producer: Any,
    settings: Any,
    *,
    single: bool,
    kind: str | None = None,
) -> Any:
    raw = await request.body()  # the guard bounded it (MAX_BYTES)
    if "gzip" in request.headers.get("content-encoding", "").lower():
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, MAX_BYTES + 1)
        except zlib.error:
            return _refuse(400, "invalid_request", "the body is not valid gzip")
    if len(raw) > MAX_BYTES:
        return _refuse(400, "too_large", f"a request holds at most {MAX_BYTES:,} bytes of JSON")
    try:
        body = jsonfile.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _refuse(400, "invalid_request", f"the body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _refuse(400, "invalid_request", "the body must be a JSON object")
    workspace = getattr(request.state, "workspace", None)
    if workspace is None:  # no Basic auth: the body's writeKey, checked as the guard checks
        key = body.get("writeKey")
        client = request.client.host if request.client else "unknown"
        try:
            workspace = await auth.workspace_of(
                pool, request.app.state.limits, client, key if isinstance(key, str) else ""
            )
        except ApiError as exc:
            if exc.status != 401:
                return _refuse(exc.status, exc.code, exc.message, exc.headers)
            return _refuse(
                401,
                "unauthorized",
                "the write key is not a workspace token: send it as Basic auth '<token>:'"
                " or as writeKey",
            )
    if single:
        messages: Any = [{**body, "type": kind}]
    else:
        messages = body.get("batch")
        if not isinstance(messages, list):
            return _refuse(400, "invalid_request", "a batch is {'batch': [messages...]}")
    received_at = datetime.now(UTC)
    sent = segment.sent_at(body)
    read = [segment.read(i, m, sent, received_at) for i, m in enumerate(messages)]
    published = await _apply(pool, workspace.id, CONTACT_CHANGES.name(settings), read)
    # Published once the answer is sent: the outbox rows are committed (the messenger's sweep
    # sends any that do not make it), and the library waits for each answer before its next
    # batch, so a Kafka round trip here would bound the throughput.
    return JSONResponse({"success": True}, background=BackgroundTask(_publish, producer, published))


async def _publish(producer: Any, published: list[changes.Change]) -> None:
    for change in published:
        await changes.publish(producer, change)


async def _apply(
    pool: asyncpg.Pool, workspace_id: str, topic: str, messages: list[segment.Message]
) -> list[changes.Change]:
    """Apply a request's new messages in order, in one transaction; the changes to publish."""
    for m in messages:
        if m.message_id is None:  # the library always sends one; plain HTTP may not
            m.message_id = new_id("seg_")
    published: list[changes.Change] = []
    async with pool.acquire() as conn, conn.transaction():
        await changes.lock(conn, workspace_id)
        done = await ingestion.seen(
            conn, workspace_id, SOURCE, [m.message_id or "" for m in messages]
        )
        todo: list[segment.Message] = []
        for m in messages:  # a retry, or a messageId twice in one request, is applied once
            if m.message_id not in done:
                done.add(m.message_id or "")
                todo.append(m)
        outcomes: list[ingestion.Outcome] = []
        run: list[segment.Message] = []
        for m in [*todo, None]:
            if run and (m is None or _run_key(m) != _run_key(run[0])):
                outcomes.extend(await _apply_run(conn, workspace_id, topic, run, published))
                run = []
            if m is None:
                break
            if m.errors or m.ignored:
                outcomes.append(_outcome(m, "ignored" if m.ignored else "failed"))
            else:
                run.append(m)
        await ingestion.record(conn, workspace_id, SOURCE, outcomes)
    if secrets.randbelow(100) == 0:  # now and then: forget message ids past KEEP_DAYS
        await ingestion.prune(pool, workspace_id)
    return published


def _run_key(m: segment.Message) -> str:
    """Consecutive messages applied together: identifies of one kind, or tracks."""
    return m.kind or m.type


def _outcome(m: segment.Message, outcome: str, contact_id: str | None = None) -> ingestion.Outcome:
    problems = m.errors if outcome == "failed" else m.warnings
    return ingestion.Outcome(m.message_id or "", m.type, outcome, list(problems), contact_id)


async def _apply_run(
    conn: asyncpg.Connection,
    workspace_id: str,
    topic: str,
    run: list[segment.Message],
    published: list[changes.Change],
) -> list[ingestion.Outcome]:
    if run[0].type == "track":
        events = [(i, m.event) for i, m in enumerate(run) if m.event is not None]
        stored, change = await event_store.store(conn, workspace_id, topic, events, True)
        if change is not None:
            published.append(change)
        for failure in stored.failures:
            run[failure["index"]].errors.extend(failure["errors"])
        return [_outcome(m, "failed" if m.errors else "stored") for m in run]
    types = await people_store.attribute_types(conn, workspace_id)
    records: list[dict[str, Any]] = []
    placed: list[segment.Message] = []
    outcomes: list[ingestion.Outcome] = []
    new_attributes: dict[str, str] = {}
    for m in run:
        record, errors, new = contact_record(m.contact or {}, types, skip_invalid=True)
        if record is None:
            m.errors.extend(errors)
            outcomes.append(_outcome(m, "failed"))
            continue
        fresh = {k: t for k, t in new.items() if k not in new_attributes}
        if len(types) + len(new_attributes) + len(fresh) > MAX_ATTRIBUTES:
            m.errors.append(
                f"the workspace has {MAX_ATTRIBUTES} custom attributes, the most it can have:"
                f" leave out the traits {', '.join(sorted(fresh))}"
            )
            outcomes.append(_outcome(m, "failed"))
            continue
        new_attributes.update(fresh)
        m.warnings.extend(w for w in record.pop("_warnings", ()))
        records.append(record)
        placed.append(m)
    if records:
        kind = run[0].kind or "users"
        written = await changes.write_records(
            conn, workspace_id, records, kind, topic, new_attributes=new_attributes
        )
        if written.change is not None:
            published.append(written.change)
        for m, outcome in zip(placed, written.outcomes, strict=True):
            if outcome is None or outcome.result == "failed" or outcome.contact is None:
                m.errors.extend(outcome.errors if outcome is not None else ["not applied"])
                outcomes.append(_outcome(m, "failed"))
            else:
                outcomes.append(_outcome(m, outcome.result, outcome.contact.id))
    return outcomes
