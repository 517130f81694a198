"""Events API: what people did, one event or up to 100,000 historical ones at a time.

Events are stored once per (person, name, created_at): a retried request changes nothing and is
answered 202 all the same. Persons are resolved and events inserted set-based, one query each
per batch of ``BATCH`` events. After a batch commits, the people who got new events are announced
(shared.changes, as for any change of people), so live auto messages whose audience counts an
event (``event:<name>``) reach them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.event_input import body_items, parse_event, public, validate
from services.upload.event_store import EventStore
from services.upload.schemas import EventPublic, EventsStored, EventStored, Page
from shared import jsonfile
from shared.errors import FileProblem

router = APIRouter(tags=["events"])

MAX_EVENTS = 100_000
BATCH = 5_000


@router.post("/api/events", status_code=202, response_model=EventStored)
async def track(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> dict[str, Any]:
    """Record one event → 202 ``{"status": "stored" | "duplicate", "event"}``."""
    try:
        body = jsonfile.loads(await request.body())  # the guard bounded its size
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc}") from None
    event, errors = parse_event(body)
    if event is None:
        raise invalid(f"the event is not valid: {'; '.join(errors)}", errors)
    outcome = await EventStore(pool, producer, settings, workspace.id).batch([(0, event)], True)
    if outcome.missing:
        raise not_found(f"person with {event.by} {event.shown!r}")
    if outcome.ambiguous:
        message = outcome.failures[0]["errors"][0]
        raise ApiError(409, "conflict", message, outcome.failures[0]["errors"])
    return {"status": "stored" if outcome.stored else "duplicate", "event": public(event)}


@router.post("/api/events/bulk", status_code=202, response_model=EventsStored)
async def track_many(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    trigger_messages: bool = True,
) -> dict[str, Any]:
    """Record up to 100,000 events (a JSON array, or NDJSON) → 202 with counts and, for each
    event that failed, its ``index`` (from 0, in body order) and errors."""
    raw = await request.body()  # the guard bounded its size (USHER_MAX_JSON_BYTES)
    try:
        items = await asyncio.to_thread(body_items, raw, request.headers.get("content-type", ""))
    except FileProblem as exc:
        raise invalid(str(exc)) from None
    del raw
    if len(items) > MAX_EVENTS:
        raise ApiError(
            413,
            "too_large",
            f"at most {MAX_EVENTS:,} events per request; this one has {len(items):,}",
            {"max_events": MAX_EVENTS},
        )
    valid, failures = await asyncio.to_thread(validate, items)
    store = EventStore(pool, producer, settings, workspace.id)
    stored = duplicates = 0
    for start in range(0, len(valid), BATCH):
        outcome = await store.batch(valid[start : start + BATCH], trigger_messages)
        stored += outcome.stored
        duplicates += outcome.duplicates
        failures.extend(outcome.failures)
    failures.sort(key=lambda f: f["index"])
    counts = {
        "received": len(items),
        "stored": stored,
        "duplicates": duplicates,
        "failed": len(failures),
    }
    return {"counts": counts, "failures": failures}


@router.get("/api/users/{contact_id}/events", response_model=Page[EventPublic])
async def person_events(
    contact_id: str, workspace: CurrentWorkspace, pool: Pool, paging: PageByTime
) -> dict[str, Any]:
    """The person's events, newest first, paginated."""
    if await repo.get_contact(pool, workspace.id, contact_id) is None:
        raise not_found("contact")
    rows = await repo.person_events(pool, contact_id, paging.after, paging.limit + 1)
    items = [
        {"event_name": r["name"], "created_at": r["created_at"], "metadata": r["metadata"]}
        for r in rows
    ]
    return paging.page(items, lambda i: (i["created_at"], i["event_name"]))
