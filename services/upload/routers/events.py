"""Events API: what people did, one event or up to 100,000 historical ones at a time.

Events are stored once per (person, name, created_at): a retried request changes nothing and is
answered 202 all the same. Persons are resolved and events inserted set-based, one query each
per batch of ``BATCH`` events. After a batch commits, the people who got new events are announced
(``contacts.changed``, through the outbox, as ``POST /api/users`` does), so live auto messages
whose audience counts an event (``event:<name>``) reach them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request

from services.upload import repository as repo
from services.upload.auth import CurrentWorkspace
from services.upload.errors import ApiError, invalid, not_found
from services.upload.event_input import EventIn, Stored, parse_event, resolve
from services.upload.pagination import Paging, pages
from shared import changes, jsonfile
from shared.logs import get_logger
from shared.topics import CONTACT_CHANGES

router = APIRouter(tags=["events"])
log = get_logger(__name__)

MAX_EVENTS = 100_000
BATCH = 5_000
_NDJSON_TYPES = ("ndjson", "jsonl", "json-lines", "jsonlines")


async def _body(request: Request) -> bytes:
    limit = request.app.state.settings.max_json_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit:,} bytes")
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit:,} bytes")
    return raw


def _items(raw: bytes, content_type: str) -> list[tuple[Any, str | None]]:
    """The records of a JSON array or NDJSON body: ``(value, None)`` or ``(None, error)``."""
    declared = content_type.split(";", 1)[0].strip().lower()
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if any(name in declared for name in _NDJSON_TYPES) or text.startswith(b"{"):
        out: list[tuple[Any, str | None]] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                out.append((jsonfile.loads(line), None))
            except orjson.JSONDecodeError as exc:
                out.append((None, f"not valid JSON: {exc}"))
        return out
    try:
        value = jsonfile.loads(text)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise invalid("send a JSON array of events (or NDJSON, one event a line)")
    return [(v, None) for v in value]


def _validate(items: list[tuple[Any, str | None]]) -> tuple[list[tuple[int, EventIn]], list[Any]]:
    valid: list[tuple[int, EventIn]] = []
    failures: list[dict[str, Any]] = []
    for index, (value, problem) in enumerate(items):
        if problem is not None:
            failures.append({"index": index, "errors": [problem]})
            continue
        event, errors = parse_event(value)
        if event is None:
            failures.append({"index": index, "errors": errors})
        else:
            valid.append((index, event))
    return valid, failures


async def _store(
    app: FastAPI, workspace_id: str, batch: Sequence[tuple[int, EventIn]], trigger: bool
) -> Stored:
    """Resolve the people of ``batch`` (one query), store its events (one statement) and
    announce the people with new events (shared.changes), all in one transaction; publish
    after commit."""
    change = None
    async with app.state.pool.acquire() as conn:
        people = await repo.find_people(
            conn,
            workspace_id,
            [e.key for _, e in batch if e.by == "id"],
            [e.key for _, e in batch if e.by == "user_id"],
            [e.key for _, e in batch if e.by == "email"],
        )
        rows, outcome = resolve(batch, people)
        if not rows:
            return outcome
        async with conn.transaction():
            new = await repo.insert_events(
                conn,
                workspace_id,
                [c for c, _ in rows],
                [e.name for _, e in rows],
                [e.created_at for _, e in rows],
                [orjson.dumps(e.metadata).decode() for _, e in rows],
            )
            outcome.stored = len(new)
            outcome.duplicates = len(rows) - len(new)
            if new and trigger:
                topic = CONTACT_CHANGES.name(app.state.settings)
                ids = sorted(set(new))
                change = await changes.announce(conn, workspace_id, topic, contact_ids=ids)
                await changes.stage(conn, change)
    await changes.publish(app.state.producer, change)
    return outcome


def _public(event: EventIn) -> dict[str, Any]:
    return {
        "event_name": event.name,
        "created_at": event.created_at,
        event.by: event.shown,
        "metadata": event.metadata,
    }


@router.post("/api/events", status_code=202)
async def track(request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    """Record one event → 202 ``{"status": "stored" | "duplicate", "event"}``."""
    try:
        body = jsonfile.loads(await _body(request))
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc}") from None
    event, errors = parse_event(body)
    if event is None:
        raise invalid(f"the event is not valid: {'; '.join(errors)}", errors)
    outcome = await _store(request.app, workspace.id, [(0, event)], trigger=True)
    if outcome.missing:
        raise not_found(f"person with {event.by} {event.shown!r}")
    if outcome.ambiguous:
        message = outcome.failures[0]["errors"][0]
        raise ApiError(409, "conflict", message, outcome.failures[0]["errors"])
    return {"status": "stored" if outcome.stored else "duplicate", "event": _public(event)}


@router.post("/api/events/bulk", status_code=202)
async def track_many(
    request: Request, workspace: CurrentWorkspace, trigger_messages: bool = True
) -> dict[str, Any]:
    """Record up to 100,000 events (a JSON array, or NDJSON) → 202 with counts and, for each
    event that failed, its ``index`` (from 0, in body order) and errors."""
    raw = await _body(request)
    items = await asyncio.to_thread(_items, raw, request.headers.get("content-type", ""))
    del raw
    if len(items) > MAX_EVENTS:
        raise ApiError(
            413,
            "too_large",
            f"at most {MAX_EVENTS:,} events per request; this one has {len(items):,}",
            {"max_events": MAX_EVENTS},
        )
    valid, failures = await asyncio.to_thread(_validate, items)
    stored = duplicates = 0
    for start in range(0, len(valid), BATCH):
        outcome = await _store(
            request.app, workspace.id, valid[start : start + BATCH], trigger_messages
        )
        stored += outcome.stored
        duplicates += outcome.duplicates
        failures.extend(outcome.failures)
    failures.sort(key=lambda f: f["index"])
    return {
        "counts": {
            "received": len(items),
            "stored": stored,
            "duplicates": duplicates,
            "failed": len(failures),
        },
        "failures": failures,
    }


@router.get("/api/users/{contact_id}/events")
async def person_events(
    contact_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("pair"))],
) -> dict[str, Any]:
    """The person's events, newest first, paginated."""
    pool = request.app.state.pool
    if await repo.get_contact(pool, workspace.id, contact_id) is None:
        raise not_found("contact")
    rows = await repo.person_events(pool, contact_id, paging.after, paging.limit + 1)
    items = [
        {"event_name": r["name"], "created_at": r["created_at"], "metadata": r["metadata"]}
        for r in rows
    ]
    return paging.page(items, lambda i: (i["created_at"], i["event_name"]))
