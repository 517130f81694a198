"""All SQL of the merger that is not about people (those statements live in shared.people_store)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg


async def chunk_state(conn: asyncpg.Connection, import_id: str, seq: int) -> tuple[bool, int]:
    """``(already applied?, how many chunks of the import are applied)``."""
    row = await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM import_chunks WHERE import_id = $1 AND seq = $2) AS done,"
        " (SELECT count(*) FROM import_chunks WHERE import_id = $1) AS applied",
        import_id,
        seq,
    )
    assert row is not None
    return row["done"], row["applied"]


async def import_status(conn: asyncpg.Connection, import_id: str) -> str | None:
    value: str | None = await conn.fetchval("SELECT status FROM imports WHERE id = $1", import_id)
    return value


async def record_chunk(
    conn: asyncpg.Connection,
    import_id: str,
    seq: int,
    rows: int,
    created: int,
    updated: int,
    failed: int,
) -> None:
    """Mark the chunk applied and add its counts; completes the import when it was the last."""
    await conn.execute(
        "INSERT INTO import_chunks (import_id, seq, rows) VALUES ($1, $2, $3)", import_id, seq, rows
    )
    await conn.execute(
        "UPDATE imports SET created = created + $2, updated = updated + $3, failed = failed + $4,"
        " status = CASE WHEN status IN ('queued', 'uploaded') THEN 'processing' ELSE status END,"
        " started_at = coalesce(started_at, now()), heartbeat_at = now() WHERE id = $1",
        import_id,
        created,
        updated,
        failed,
    )
    await complete_if_done(conn, import_id)


async def record_end(conn: asyncpg.Connection, import_id: str, chunks: int, rows: int) -> None:
    await conn.execute(
        "UPDATE imports SET chunks_total = $2, rows_total = $3, heartbeat_at = now() WHERE id = $1",
        import_id,
        chunks,
        rows,
    )
    await complete_if_done(conn, import_id)


async def complete_if_done(conn: asyncpg.Connection, import_id: str) -> None:
    await conn.execute(
        "UPDATE imports i SET status = 'completed', finished_at = now()"
        " WHERE i.id = $1 AND i.status NOT IN ('completed', 'failed')"
        " AND i.chunks_total IS NOT NULL"
        " AND (SELECT count(*) FROM import_chunks c WHERE c.import_id = i.id) = i.chunks_total",
        import_id,
    )


async def write_errors(
    conn: asyncpg.Connection, import_id: str, errors: Sequence[dict[str, Any]]
) -> None:
    if not errors:
        return
    await conn.copy_records_to_table(
        "import_errors",
        records=[(import_id, e["row"], e["errors"], e.get("cells")) for e in errors],
        columns=("import_id", "row_no", "errors", "cells"),
    )
