"""Audiences judged where people change: which live auto messages a committed change makes
people match.

The writer of a change (the merger for an import chunk, the upload service for ``POST
/api/users``) holds every changed person's state in memory, including the states in between
when one transaction changed someone twice. It evaluates the live auto messages' audiences on
those states inside its transaction, and the contacts-changed event carries only the verdict:
per message, the people who matched and the state they first matched in (to fill the
message's template). The messenger trusts a verdict only for the message version it was made
for (``updated_at``) and judges every other live message on the database.

Why here and not in the messenger: a chunk of 5,000 people would otherwise carry 5,000 states
(~2 MB) through the outbox, Kafka and the messenger's decoder, for ~500 matches
(docs/ARCHITECTURE.md § Performance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from shared import people_store
from shared.errors import InvalidFilter
from shared.filters import CompiledFilter, FilterContext, compile_filter
from shared.identity import ContactView, Engine, StateView, snapshot, state_snapshot
from shared.logs import get_logger

log = get_logger(__name__)


def fingerprint(updated_at: datetime) -> str:
    """The version of a message a verdict was made for."""
    return updated_at.isoformat()


@dataclass
class Verdict:
    """``evaluated``: message id -> :func:`fingerprint` of the version judged.
    ``matched``: message id -> contact id -> the state the person first matched in."""

    evaluated: dict[str, str] = field(default_factory=dict)
    matched: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


async def filter_context(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, now: datetime
) -> FilterContext:
    """The workspace's attribute types and saved segments, for compiling its filters."""
    segments = await conn.fetch(
        "SELECT id, filter FROM segments WHERE workspace_id = $1", workspace_id
    )
    return FilterContext(
        attribute_types=await people_store.attribute_types(conn, workspace_id),
        segments={r["id"]: r["filter"] for r in segments},
        now=now,
    )


async def event_counts(
    conn: asyncpg.Connection, contact_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Contact id -> event name -> how many events of that name the person has."""
    if not contact_ids:
        return {}
    rows = await conn.fetch(
        "SELECT contact_id, name, count(*) AS n FROM events WHERE contact_id = ANY($1::text[])"
        " GROUP BY contact_id, name",
        list(contact_ids),
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["contact_id"], {})[r["name"]] = r["n"]
    return out


@dataclass
class Judged:
    """A verdict with what it was judged on: the engine, and the messages, attribute types and
    segments as read then (:func:`judge_early`)."""

    engine: Engine
    basis: tuple[Any, ...]
    uses_events: bool
    verdict: Verdict


async def judge(
    conn: asyncpg.Connection,
    workspace_id: str,
    engine: Engine,
    now: datetime,
    suppressed: Sequence[str] = (),
    *,
    earlier: Judged | None = None,
) -> Verdict:
    """Evaluate the workspace's live auto messages (but those ``suppressed``) on every state
    ``engine`` went through.

    Runs inside the writer's transaction (under the workspace lock), so the messages, attribute
    types and event counts are those the change commits against. A message whose audience does
    not compile is left out: the messenger judges it (and reports it) itself.

    ``earlier`` (:func:`judge_early` of the same engine, before the lock) is the verdict when
    what it was judged on is what the transaction reads now and no audience counts events
    (those may have changed meanwhile): the messages, attribute types and segments are read
    again, the audiences are not evaluated again.
    """
    return (await _judge(conn, workspace_id, engine, now, suppressed, earlier)).verdict


async def judge_early(
    conn: asyncpg.Connection,
    workspace_id: str,
    engine: Engine,
    now: datetime,
    suppressed: Sequence[str] = (),
) -> Judged:
    """:func:`judge` outside the writer's lock (the merger, beside the chunk still committing),
    for :func:`judge` to check under the lock (``earlier``)."""
    return await _judge(conn, workspace_id, engine, now, suppressed, None)


async def _judge(
    conn: asyncpg.Connection,
    workspace_id: str,
    engine: Engine,
    now: datetime,
    suppressed: Sequence[str],
    earlier: Judged | None,
) -> Judged:
    verdict = Verdict()
    if not engine.changed and not engine.created:
        return Judged(engine, (), False, verdict)
    messages = await conn.fetch(
        "SELECT id, audience, updated_at FROM messages"
        " WHERE workspace_id = $1 AND state = 'live' AND type = 'auto'"
        " AND id <> ALL($2::text[])",
        workspace_id,
        list(suppressed),
    )
    if not messages:
        return Judged(engine, (), False, verdict)
    ctx = await filter_context(conn, workspace_id, now)
    basis = (
        [tuple(m) for m in messages],
        ctx.attribute_types,
        ctx.segments,
        now,
    )
    if (
        earlier is not None
        and earlier.engine is engine
        and not earlier.uses_events
        and earlier.basis == basis
    ):
        return earlier
    audiences: dict[str, CompiledFilter] = {}
    for message in messages:
        try:
            audiences[message["id"]] = compile_filter(message["audience"], ctx)
        except InvalidFilter:
            continue
        verdict.evaluated[message["id"]] = fingerprint(message["updated_at"])
    uses_events = any(a.uses_events for a in audiences.values())
    judged = Judged(engine, basis, uses_events, verdict)
    if not audiences:
        return judged
    counts: dict[str, dict[str, int]] = {}
    if uses_events:
        old = [cid for cid, c in engine.changed.items() if not c.is_new]
        counts = await event_counts(conn, old)
    for message_id, audience in audiences.items():
        try:
            verdict.matched[message_id] = _first_matches(audience, engine, counts)
        except Exception:  # a state the filter trips on: the messenger judges it on the database
            log.exception("an audience could not be judged", extra={"message_id": message_id})
            del verdict.evaluated[message_id]
    return judged


def _first_matches(
    audience: CompiledFilter, engine: Engine, counts: dict[str, dict[str, int]]
) -> dict[str, dict[str, Any]]:
    """Contact id -> the first state (after each record that changed the person) that matches.
    Final states are read in place (:class:`ContactView`); only matches are copied out."""
    matched: dict[str, dict[str, Any]] = {}
    none: dict[str, int] = {}
    for contact_id, contact in engine.changed.items():
        events = counts.get(contact_id, none)
        for state in engine.snapshots.get(contact_id, ()):
            if audience.matches({**state, "events": events}):
                matched[contact_id] = state
                break
        else:
            if audience.matches(ContactView(contact, events)):
                matched[contact_id] = snapshot(contact, copy=False)
    for contact_id, created in engine.created.items():  # (new: one state each, no events)
        if audience.matches(StateView(created)):
            matched[contact_id] = state_snapshot(created)
    return matched
