"""Requesting an import and failing one: one function each, for every service.

**Requesting** (:func:`request`) sends ``import.requested`` to the parser. The import is already
``queued`` in the database when it is called, and that is what counts: if Kafka cannot take the
request now, it is logged and nothing else happens — the parser's stalled-import sweep asks for
every import queued or processing without progress for a minute (:func:`claim_stalled`), so the
import starts once Kafka is back. The caller answers as if it had been sent (the import is
durably queued); nobody un-queues or fails an import because the broker was away for a moment.

**Failing** (:func:`fail`) ends an import that is not finished yet with a message the user reads,
and drops its connector credentials (a remote pull that cannot go on must not keep them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import events, previews
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
