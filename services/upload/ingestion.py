"""What the compatible APIs received (SPEC §7), in the ``ingested`` table: each message once
per (workspace, source, message id) — the dedupe of retried batches —, its outcome and
problems (``GET /api/ingestion-errors``, the Connect page), and the rolling per-day entry of
the import history that counts them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from shared.ids import new_id

SOURCES = {"segment": "Segment", "intercom": "Intercom API"}  # source -> its history entry
KEEP_DAYS = 7  # how long a message id is remembered (Segment dedupes over 24 h at least)
_COLUMNS = "source, message_id, type, outcome, problems, contact_id, received_at"
EVENT_TYPES = frozenset({"track", "event"})  # messages that store events, not people
PEOPLE_OUTCOMES = ("created", "updated", "failed")  # what the history entry counts


@dataclass
class Outcome:
    """What became of one received message."""

    message_id: str
    type: str
    outcome: str  # created, updated, deleted, stored (an event), ignored, failed
    problems: list[str]  # why it failed, or what was left out of it
    contact_id: str | None = None


async def seen(
    conn: asyncpg.Connection, workspace_id: str, source: str, ids: Sequence[str]
) -> set[str]:
    """Those of ``ids`` received before (retries). Called under the workspace lock, which every
    request of the workspace takes first, so a concurrent retry cannot slip in between this
    and :func:`record`."""
    if not ids:
        return set()
    rows = await conn.fetch(
        "SELECT message_id FROM ingested WHERE workspace_id = $1 AND source = $2"
        " AND message_id = ANY($3::text[])",
        workspace_id,
        source,
        list(ids),
    )
    return {r["message_id"] for r in rows}


async def record(
    conn: asyncpg.Connection, workspace_id: str, source: str, outcomes: Sequence[Outcome]
) -> None:
    """Keep the messages applied (one statement) and count them in the day's history entry."""
    if not outcomes:
        return
    await conn.execute(
        "INSERT INTO ingested (workspace_id, source, message_id, type, outcome, problems,"
        " contact_id) SELECT $1, $2, m, t, o, ARRAY(SELECT jsonb_array_elements_text(p::jsonb)), c"
        " FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])"
        " AS x(m, t, o, p, c) ON CONFLICT DO NOTHING",
        workspace_id,
        source,
        [o.message_id for o in outcomes],
        [o.type for o in outcomes],
        [o.outcome for o in outcomes],
        [orjson.dumps(o.problems).decode() for o in outcomes],
        [o.contact_id for o in outcomes],
    )
    people = [o for o in outcomes if o.type not in EVENT_TYPES]
    created, updated, failed = (sum(o.outcome == x for o in people) for x in PEOPLE_OUTCOMES)
    await count_day(conn, workspace_id, source, created, updated, failed)


async def count_day(
    conn: asyncpg.Connection,
    workspace_id: str,
    source: str,
    created: int,
    updated: int,
    failed: int,
) -> None:
    """Add to the source's history entry of today (UTC): one row per day, made when needed."""
    if not created + updated + failed:
        return
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO imports (id, workspace_id, source, kind, status, file_name, api_day,"
        " created, updated, failed, rows_total, rows_parsed, created_at, started_at,"
        " finished_at)"
        " VALUES ($1, $2, $3, 'users', 'completed', $4, $5, $6, $7, $8, $9, $9, $10, $10, $10)"
        " ON CONFLICT (workspace_id, source, api_day) WHERE api_day IS NOT NULL DO UPDATE SET"
        " created = imports.created + EXCLUDED.created,"
        " updated = imports.updated + EXCLUDED.updated,"
        " failed = imports.failed + EXCLUDED.failed,"
        " rows_total = imports.rows_total + EXCLUDED.rows_total,"
        " rows_parsed = imports.rows_parsed + EXCLUDED.rows_parsed,"
        " finished_at = EXCLUDED.finished_at",
        new_id("imp_"),
        workspace_id,
        source,
        f"{SOURCES[source]} {now:%Y-%m-%d}",
        now.date(),
        created,
        updated,
        failed,
        created + updated + failed,
        now,
    )


async def prune(conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str) -> None:
    """Forget messages older than KEEP_DAYS (a bounded batch at a time)."""
    await conn.execute(
        "DELETE FROM ingested WHERE ctid = ANY(ARRAY(SELECT ctid FROM ingested"
        " WHERE workspace_id = $1 AND received_at < now() - make_interval(days => $2)"
        " LIMIT 10000))",
        workspace_id,
        KEEP_DAYS,
    )


async def recent(
    pool: asyncpg.Pool,
    workspace_id: str,
    *,
    failed_only: bool,
    source: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Messages received, newest first (only the failed and warned ones with ``failed_only``)."""
    clauses = ["workspace_id = $1", "($2::text IS NULL OR source = $2)"]
    args: list[Any] = [workspace_id, source, limit]
    if failed_only:
        clauses.append("(outcome = 'failed' OR cardinality(problems) > 0)")
    if after is not None:
        clauses.append("(received_at, message_id) < ($4::timestamptz, $5)")
        args.extend(after)
    return await pool.fetch(
        f"SELECT {_COLUMNS} FROM ingested WHERE {' AND '.join(clauses)}"
        " ORDER BY received_at DESC, message_id DESC LIMIT $3",
        *args,
    )
