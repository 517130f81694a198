"""All SQL of the parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg


async def get_import(conn: asyncpg.Connection, import_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, workspace_id, source, kind, status, tag, trigger_messages, file_key, columns,"
        " detected, options, secret, source_state, dry_run, run, undo_of FROM imports"
        " WHERE id = $1",
        import_id,
    )


async def import_route(conn: asyncpg.Connection, import_id: str) -> tuple[str, str] | None:
    """The import's source and workspace, or None when there is no such import."""
    row = await conn.fetchrow("SELECT source, workspace_id FROM imports WHERE id = $1", import_id)
    return None if row is None else (row["source"], row["workspace_id"])


async def applied_chunks(conn: asyncpg.Connection, import_id: str) -> int:
    """How many chunks the merger has applied: the parser resumes sending from there."""
    value: int = await conn.fetchval(
        "SELECT count(*) FROM import_chunks WHERE import_id = $1", import_id
    )
    return value


async def applied_rows(conn: asyncpg.Connection, import_id: str) -> int:
    """How many records the applied chunks held (a remote source resumes after them)."""
    value: int = await conn.fetchval(
        "SELECT coalesce(sum(rows), 0) FROM import_chunks WHERE import_id = $1", import_id
    )
    return value


async def mark_processing(conn: asyncpg.Connection, import_id: str) -> None:
    await conn.execute(
        "UPDATE imports SET status = 'processing', started_at = coalesce(started_at, now()),"
        " heartbeat_at = now() WHERE id = $1 AND status IN ('queued', 'processing')",
        import_id,
    )


async def record_progress(
    conn: asyncpg.Connection, import_id: str, rows_parsed: int, rows_estimate: int | None
) -> int | None:
    """Records read so far and the estimate of all; returns how many chunks of the import the
    merger has applied, or None when the import has ended meanwhile (cancelled, failed): then
    nothing is written, and reading it can stop."""
    applied: int | None = await conn.fetchval(
        "UPDATE imports SET rows_parsed = greatest(rows_parsed, $2),"
        " rows_estimate = coalesce($3, rows_estimate), heartbeat_at = now()"
        " WHERE id = $1 AND status IN ('queued', 'processing')"
        " RETURNING (SELECT count(*) FROM import_chunks WHERE import_id = $1)",
        import_id,
        rows_parsed,
        rows_estimate,
    )
    return applied


async def record_read(conn: asyncpg.Connection, import_id: str, run: int, rows: int) -> None:
    """Run ``run`` of the import was read to its end: ``rows`` records, its exact total (the
    progress's denominator from now on, before the merger has applied them all). Nothing
    changes for an import that ended meanwhile, or for an earlier run."""
    await conn.execute(
        "UPDATE imports SET rows_parsed = $3, rows_estimate = $3, rows_total = $3,"
        " heartbeat_at = now() WHERE id = $1 AND run = $2 AND status IN ('queued', 'processing')",
        import_id,
        run,
        rows,
    )


async def heartbeat(conn: asyncpg.Connection, import_id: str) -> None:
    """The import is alive (waiting on a vendor's rate limit, say): not stalled."""
    await conn.execute("UPDATE imports SET heartbeat_at = now() WHERE id = $1", import_id)


async def save_source_state(
    conn: asyncpg.Connection, import_id: str, state: Mapping[str, Any]
) -> None:
    """Merge ``state`` into where the remote pull is (never credentials)."""
    await conn.execute(
        "UPDATE imports SET source_state = source_state || $2::jsonb, heartbeat_at = now()"
        " WHERE id = $1",
        import_id,
        dict(state),
    )


async def finish_pull(conn: asyncpg.Connection, import_id: str) -> None:
    """Every page was pulled and sent: forget the credentials, remember that it is done."""
    await conn.execute(
        "UPDATE imports SET secret = NULL,"
        " source_state = source_state || '{\"pulled\": true}'::jsonb WHERE id = $1",
        import_id,
    )


async def chunks_to_undo(conn: asyncpg.Connection, import_id: str) -> list[tuple[int, int]]:
    """``(seq, records that changed someone)`` of each diff chunk of the import that changed
    anyone, last first (the order an undo takes them back in)."""
    rows = await conn.fetch(
        "SELECT seq, created + updated AS n FROM import_diffs"
        " WHERE import_id = $1 AND created + updated > 0 ORDER BY seq DESC",
        import_id,
    )
    return [(r["seq"], r["n"]) for r in rows]
