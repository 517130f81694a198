"""Events API: what people did, one event or up to 100,000 historical ones at a time.

Events are stored once per (person, name, created_at): a retried request changes nothing and is
answered 202 all the same. Persons are resolved and events inserted set-based, one query each
per batch of ``BATCH`` events. After a batch commits, the people who got new events are announced
(shared.changes, as for any change of people), so live auto messages whose audience counts an
event (``event:<name>``) reach them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.event_input import (
    EventIn,
    Stored,
    body_items,
    parse_event,
    public,
    resolve,
    validate,
)
from services.upload.schemas import EventPublic, EventsStored, EventStored, Page
from shared import changes, jsonfile
from shared.errors import FileProblem
from shared.topics import CONTACT_CHANGES

router = APIRouter(tags=["events"])

MAX_EVENTS = 100_000
BATCH = 5_000


class _Store:
    """Stores batches of events of one workspace and announces the people who got new ones."""

    def __init__(self, pool: Pool, producer: Producer, settings: Settings, workspace_id: str):
        self.pool, self.producer, self.workspace_id = pool, producer, workspace_id
        self.topic = CONTACT_CHANGES.name(settings)

    async def batch(self, batch: Sequence[tuple[int, EventIn]], trigger: bool) -> Stored:
        """Resolve the people of ``batch`` (one query), store its events (one statement) and
        announce the people with new events, in one transaction; publish after commit."""
        change = None
        async with self.pool.acquire() as conn:
            people = await repo.find_people(
                conn,
                self.workspace_id,
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
                    self.workspace_id,
                    [c for c, _ in rows],
                    [e.name for _, e in rows],
                    [e.created_at for _, e in rows],
                    [orjson.dumps(e.metadata).decode() for _, e in rows],
                )
                outcome.stored = len(new)
                outcome.duplicates = len(rows) - len(new)
                if new and trigger:
                    ids = sorted(set(new))
                    change = await changes.announce(
                        conn, self.workspace_id, self.topic, contact_ids=ids
                    )
                    await changes.stage(conn, change)
        await changes.publish(self.producer, change)
        return outcome


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
    outcome = await _Store(pool, producer, settings, workspace.id).batch([(0, event)], True)
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
    store = _Store(pool, producer, settings, workspace.id)
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
