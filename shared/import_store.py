"""Requesting an import and failing one: one function each, for every service.

**Requesting** (:func:`request`) sends ``import.requested`` to the parser. The import is already
``queued`` in the database when it is called, and that is what counts: if Kafka cannot take the
request now, it is logged and nothing else happens — the parser's stalled-import sweep asks for
every import queued or processing without progress for a minute (:func:`claim_stalled`), so the
import starts once Kafka is back. The caller answers as if it had been sent (the import is
durably queued); nobody un-queues or fails an import because the broker was away for a moment.

**Failing** (:func:`fail`) ends an import that is not finished yet with a message the user reads,
and drops its connector credentials (a remote pull that cannot go on must not keep them).

**Cancelling** (:func:`cancel`) ends a queued or processing import between two chunks, under the
workspace lock that every chunk's transaction holds: what its applied chunks did stays, counted
exactly, and no chunk is applied after it (the merger checks the status under the same lock).

**Summarising** (:func:`summarise`) writes a finished import's summary from its chunks' tallies:
when its last chunk is applied, or when it is cancelled.

**Abandoned uploads** (:func:`delete_upload`, :func:`expire_uploads`): an upload never started is
deleted, stored file and row, by its user or :data:`UPLOAD_KEPT_HOURS` after the upload.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import diff, events, people_store, previews
from shared.events import ImportRequested
from shared.logs import get_logger
from shared.settings import Settings
from shared.topics import IMPORT_REQUESTS

log = get_logger(__name__)
FINISHED = ("completed", "previewed", "failed", "cancelled")  # "previewed": a dry run ended
# Where an import's records come from (SPEC §3): uploaded files, vendors pulled by the parser,
# and those whose records are JSON (one JSON record a row in the error report).
FILE_SOURCES = ("csv", "mailchimp_csv", "mixpanel_file")
REMOTE_SOURCES = ("mailchimp", "mixpanel")
JSON_SOURCES = ("api", "mixpanel_file", *REMOTE_SOURCES)
CANCELLABLE = ("queued", "processing")
UPLOAD_KEPT_HOURS = 24  # an upload never started is deleted this long after it was made
# How long a cancel waits for the chunk being applied to commit (a chunk takes well under a
# second; the API's statement timeout would otherwise answer for it).
CANCEL_LOCK_WAIT_MS = 8000


async def request(
    producer: AIOKafkaProducer, settings: Settings, workspace_id: str, import_id: str
) -> bool:
    """Ask the parser to process the (queued) import; False when Kafka could not take it now
    (the stalled-import sweep asks again)."""
    try:
        await producer.send_and_wait(
            IMPORT_REQUESTS.name(settings),
            events.encode(
                ImportRequested(import_id=import_id, workspace_id=workspace_id), import_id
            ),
            key=import_id.encode(),
        )
        return True
    except Exception as exc:
        log.warning(
            "the import request did not reach Kafka; the stalled-import sweep sends it again",
            extra={"import_id": import_id, "error": repr(exc)},
        )
        return False


async def fail(conn: asyncpg.Connection | asyncpg.Pool, import_id: str, message: str) -> None:
    """End an unfinished import as ``failed`` with ``message``; its credentials (and a dry
    run's own tables) are dropped."""
    dry_run = await conn.fetchval(
        "UPDATE imports SET status = 'failed', error = $2, finished_at = now(), secret = NULL"
        " WHERE id = $1 AND status <> ALL($3::text[]) RETURNING dry_run",
        import_id,
        message,
        list(FINISHED),
    )
    if dry_run:
        await previews.drop(conn, import_id)


async def cancel(conn: asyncpg.Connection, workspace_id: str, import_id: str) -> bool:
    """Cancel a queued or processing import (not an undo), in the caller's transaction: it ends
    ``cancelled`` with the counts and summary of the chunks applied so far; its credentials and
    a dry run's own tables are dropped. False when it is not one to cancel (finished, never
    started, an undo, another workspace's).

    Race-free with the merger: the workspace lock comes first — the lock each chunk's
    transaction takes before it reads the import's status (``MergerHandler._begin``) and holds
    until it commits. A chunk being applied therefore commits before the cancel, whole, and
    every later chunk reads ``cancelled`` under the lock and is skipped, also when it is
    redelivered after a restart. Raises ``asyncpg.LockNotAvailableError`` when the chunk in
    flight does not commit within :data:`CANCEL_LOCK_WAIT_MS`."""
    await conn.execute("SELECT set_config('lock_timeout', $1, true)", f"{CANCEL_LOCK_WAIT_MS}ms")
    await people_store.lock_workspace(conn, workspace_id)
    cancelled = await conn.fetchval(
        "UPDATE imports SET status = 'cancelled', finished_at = now(), heartbeat_at = now(),"
        " secret = NULL WHERE id = $1 AND workspace_id = $2 AND status = ANY($3::text[])"
        " AND source <> 'undo' RETURNING id",
        import_id,
        workspace_id,
        list(CANCELLABLE),
    )
    if cancelled is None:
        return False
    await summarise(conn, import_id)
    return True


async def summarise(conn: asyncpg.Connection, import_id: str) -> None:
    """Write a finished import's summary (SPEC §6.1) from its chunks' tallies: fields and
    problems, and for a dry run who its messages would reach (its own tables are dropped then).
    In the transaction that finished it."""
    row = await conn.fetchrow(
        "SELECT workspace_id, dry_run, options FROM imports WHERE id = $1", import_id
    )
    assert row is not None
    tallies = await conn.fetch(
        "SELECT fields, problems FROM import_diffs WHERE import_id = $1", import_id
    )
    summary: dict[str, Any] = {
        "fields": diff.field_summary(t["fields"] for t in tallies),
        "problems": diff.problem_summary(t["problems"] for t in tallies),
    }
    if row["dry_run"]:
        reached = await previews.reach(conn, import_id)
        summary["messages"] = await message_summary(
            conn, row["workspace_id"], reached, (row["options"] or {}).get("suppress_messages")
        )
        await previews.drop(conn, import_id)
    await conn.execute(
        "UPDATE imports SET summary = coalesce(summary, '{}'::jsonb) || $2::jsonb WHERE id = $1",
        import_id,
        summary,
    )


async def delete_upload(
    conn: asyncpg.Connection, storage_dir: Path, workspace_id: str, import_id: str
) -> bool:
    """Delete an upload that was never started: its stored file, then its row. False when the
    workspace has no such upload (it is another status, or gone).

    The row is locked first, so a start waiting on it finds it gone. The file goes before the
    commit: if the commit is lost, the row stays without its file and is deleted again later
    (an upload whose file is missing cannot be started)."""
    async with conn.transaction():
        key = await conn.fetchval(
            "SELECT coalesce(file_key, '') FROM imports"
            " WHERE id = $1 AND workspace_id = $2 AND status = 'uploaded' FOR UPDATE",
            import_id,
            workspace_id,
        )
        if key is None:
            return False
        _unlink(storage_dir, key)
        await conn.execute("DELETE FROM imports WHERE id = $1", import_id)
    return True


async def expire_uploads(
    conn: asyncpg.Connection, storage_dir: Path, *, kept_hours: float = UPLOAD_KEPT_HOURS
) -> int:
    """Delete uploads never started (as :func:`delete_upload`) made more than ``kept_hours``
    ago, a batch at a time; how many. Several processes may run it at once."""
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT id, coalesce(file_key, '') AS file_key FROM imports WHERE status = 'uploaded'"
            " AND created_at < now() - make_interval(secs => $1)"
            " ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED",
            kept_hours * 3600,
        )
        for row in rows:
            _unlink(storage_dir, row["file_key"])
        await conn.execute(
            "DELETE FROM imports WHERE id = ANY($1::text[])", [r["id"] for r in rows]
        )
    return len(rows)


def _unlink(storage_dir: Path, key: str) -> None:
    """Remove a stored file by its key (a random name, never a path; absent is fine)."""
    if key and "/" not in key and not key.startswith("."):
        (storage_dir / key).unlink(missing_ok=True)


async def message_summary(
    conn: asyncpg.Connection | asyncpg.Pool,
    workspace_id: str,
    reached: Mapping[str, int],
    suppressed: Iterable[str] | None,
) -> list[dict[str, Any]]:
    """An import's ``summary.messages`` (SPEC §6.1): every live auto message of the workspace
    and every message in ``reached`` (message id -> people reached), with its count, and
    whether the import's message policy suppressed it; oldest message first."""
    rows = await conn.fetch(
        "SELECT id, name FROM messages WHERE workspace_id = $1"
        " AND ((state = 'live' AND type = 'auto') OR id = ANY($2::text[]))"
        " ORDER BY created_at, id",
        workspace_id,
        list(reached),
    )
    quiet = set(suppressed or ())
    return [
        {
            "message_id": r["id"],
            "name": r["name"],
            "deliveries": reached.get(r["id"], 0),
            "suppressed": r["id"] in quiet,
        }
        for r in rows
    ]


async def delivered(conn: asyncpg.Connection | asyncpg.Pool, import_id: str) -> dict[str, int]:
    """Message id -> how many people a (real) import's changes have reached so far."""
    rows = await conn.fetch(
        "SELECT message_id, count(*) AS n FROM deliveries WHERE import_id = $1 GROUP BY message_id",
        import_id,
    )
    return {r["message_id"]: r["n"] for r in rows}


async def claim_stalled(conn: asyncpg.Connection, stalled_s: float, limit: int = 10) -> list[Any]:
    """Imports queued or processing with no progress for ``stalled_s`` seconds (a request lost
    between the database and Kafka, a crash): bump their heartbeat and return them."""
    rows: list[Any] = await conn.fetch(
        "UPDATE imports SET heartbeat_at = now() WHERE id IN ("
        " SELECT id FROM imports WHERE status IN ('queued', 'processing')"
        " AND coalesce(heartbeat_at, created_at) < now() - make_interval(secs => $1)"
        " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, workspace_id",
        stalled_s,
        limit,
    )
    return rows
