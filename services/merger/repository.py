"""All SQL of the merger that is not about people (those statements live in shared.people_store,
and a dry run's own in shared.previews)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared import diff, import_store
from shared.diff import ChunkDiff
from shared.events import RowChunk
from shared.ids import new_id


@dataclass(frozen=True)
class ChunkState:
    """Where a chunk's import stands, read under the workspace lock in one round trip."""

    status: str
    run: int
    done: bool  # the chunk is applied already
    applied: int  # how many chunks of the import are applied
    people_version: int  # how many transactions have written the workspace's people


async def chunk_state(
    conn: asyncpg.Connection, workspace_id: str, import_id: str, seq: int
) -> ChunkState | None:
    """The chunk's :class:`ChunkState`, or None when its import does not exist."""
    row = await conn.fetchrow(
        "SELECT i.status, i.run,"
        " EXISTS (SELECT 1 FROM import_chunks WHERE import_id = $1 AND seq = $2) AS done,"
        " (SELECT count(*) FROM import_chunks WHERE import_id = $1) AS applied,"
        " (SELECT people_version FROM workspaces WHERE id = $3) AS people_version"
        " FROM imports i WHERE i.id = $1",
        import_id,
        seq,
        workspace_id,
    )
    return ChunkState(*row) if row is not None else None


async def record_chunk(
    conn: asyncpg.Connection,
    import_id: str,
    seq: int,
    *,
    rows: int,
    created: int,
    updated: int,
    failed: int,
    unchanged: int,
    warned: int,
) -> None:
    """Mark the chunk applied and add its counts; ends the import when it was the last."""
    await conn.execute(
        "INSERT INTO import_chunks (import_id, seq, rows) VALUES ($1, $2, $3)", import_id, seq, rows
    )
    await conn.execute(
        "UPDATE imports SET created = created + $2, updated = updated + $3, failed = failed + $4,"
        " unchanged = unchanged + $5, warnings = warnings + $6,"
        " status = CASE WHEN status IN ('queued', 'uploaded') THEN 'processing' ELSE status END,"
        " started_at = coalesce(started_at, now()), heartbeat_at = now() WHERE id = $1",
        import_id,
        created,
        updated,
        failed,
        unchanged,
        warned,
    )
    await complete_if_done(conn, import_id)


async def record_end(
    conn: asyncpg.Connection, import_id: str, run: int, chunks: int, rows: int
) -> None:
    """The parser reached the end of run ``run`` of the import (an earlier run's end marker,
    and one of an import that ended meanwhile — cancelled, failed — change nothing: a finished
    import's counts stay as they were when it finished)."""
    await conn.execute(
        "UPDATE imports SET chunks_total = $2, rows_total = $3, heartbeat_at = now()"
        " WHERE id = $1 AND run = $4 AND status <> ALL($5::text[])",
        import_id,
        chunks,
        rows,
        run,
        list(import_store.FINISHED),
    )
    await complete_if_done(conn, import_id)


async def complete_if_done(conn: asyncpg.Connection, import_id: str) -> None:
    """End the import once every chunk is applied: ``completed`` (a dry run: ``previewed``),
    with its summary; a dry run's own tables are dropped."""
    finished = await conn.fetchval(
        "UPDATE imports i SET finished_at = now(),"
        " status = CASE WHEN i.dry_run THEN 'previewed' ELSE 'completed' END"
        " WHERE i.id = $1 AND i.status <> ALL($2::text[])"
        " AND i.chunks_total IS NOT NULL"
        " AND (SELECT count(*) FROM import_chunks c WHERE c.import_id = i.id) = i.chunks_total"
        " RETURNING i.id",
        import_id,
        list(import_store.FINISHED),
    )
    if finished is not None:
        await import_store.summarise(conn, import_id)


async def write_errors(
    conn: asyncpg.Connection, import_id: str, errors: Sequence[dict[str, Any]]
) -> None:
    if not errors:
        return
    await conn.copy_records_to_table(
        "import_errors",
        records=[
            (import_id, e["row"], e["errors"], e.get("cells"), e.get("warnings")) for e in errors
        ],
        columns=("import_id", "row_no", "errors", "cells", "warnings"),
    )


async def write_diff(
    conn: asyncpg.Connection, import_id: str, chunk: ChunkDiff, packed: bytes
) -> None:
    """The chunk's diff row, its entries as ``diff.pack`` made them."""
    await conn.copy_records_to_table(
        "import_diffs", records=[chunk.row(import_id, packed)], columns=diff.COLUMNS
    )


async def diff_entries(conn: asyncpg.Connection, import_id: str, seq: int) -> list[Any]:
    """The stored entries of one diff chunk (as shared.diff stores them)."""
    packed = await conn.fetchval(
        "SELECT entries FROM import_diffs WHERE import_id = $1 AND seq = $2", import_id, seq
    )
    return diff.unpack(packed) if packed is not None else []


async def undo_outcomes(
    conn: asyncpg.Connection, undo_id: str, contact_ids: Sequence[str]
) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT contact_id, outcome FROM undo_contacts"
        " WHERE undo_id = $1 AND contact_id = ANY($2::text[])",
        undo_id,
        list(contact_ids),
    )
    return {r["contact_id"]: r["outcome"] for r in rows}


async def save_undo_outcomes(
    conn: asyncpg.Connection, undo_id: str, outcomes: dict[str, str]
) -> None:
    if not outcomes:
        return
    await conn.execute(
        "INSERT INTO undo_contacts (undo_id, contact_id, outcome)"
        " SELECT $1, c, o FROM unnest($2::text[], $3::text[]) AS x(c, o)"
        " ON CONFLICT (undo_id, contact_id) DO UPDATE SET outcome = EXCLUDED.outcome",
        undo_id,
        list(outcomes),
        list(outcomes.values()),
    )


async def record_undo_chunk(
    conn: asyncpg.Connection,
    undo_id: str,
    seq: int,
    *,
    deleted: int,
    reverted: int,
    conflicts: int,
) -> None:
    """Mark an undo's chunk applied and add its counts (which may move a contact counted by an
    earlier chunk to another outcome); ends the undo when it was the last."""
    await conn.execute(
        "INSERT INTO import_chunks (import_id, seq, rows) VALUES ($1, $2, 0)", undo_id, seq
    )
    await conn.execute(
        "UPDATE imports SET deleted = deleted + $2, reverted = reverted + $3,"
        " conflicts = conflicts + $4,"
        " status = CASE WHEN status IN ('queued', 'uploaded') THEN 'processing' ELSE status END,"
        " started_at = coalesce(started_at, now()), heartbeat_at = now() WHERE id = $1",
        undo_id,
        deleted,
        reverted,
        conflicts,
    )
    await complete_if_done(conn, undo_id)


async def write_conflicts(
    conn: asyncpg.Connection, chunk: RowChunk, conflicts: Sequence[dict[str, Any]]
) -> None:
    """Queue the chunk's records the identity rules could not place (SPEC §6.4)."""
    if not conflicts:
        return
    # One id stem a chunk, the row after it: ids sort like the rows (the queue's order).
    stem = new_id("cf_")
    await conn.copy_records_to_table(
        "conflicts",
        records=[
            (
                f"{stem}_{c['row']:012d}",
                chunk.workspace_id,
                chunk.import_id,
                c["row"],
                "ambiguous_email",
                chunk.kind,
                chunk.tag,
                {k: v for k, v in c["record"].items() if not k.startswith("_")},
                list(c["candidates"]),
            )
            for c in conflicts
        ],
        columns=(
            "id",
            "workspace_id",
            "import_id",
            "row_no",
            "reason",
            "kind",
            "tag",
            "record",
            "candidates",
        ),
    )
