"""All SQL of the upload service (people writes go through shared.people_store)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared import previews
from shared.filters import FilterContext, to_sql

IMPORT_COLUMNS = (
    "id, workspace_id, source, kind, status, tag, trigger_messages, file_name, file_size,"
    " file_key, detected, columns, preview, suggested_mapping, options, rows_total, rows_parsed,"
    " rows_estimate, created, updated, failed, error, created_at, started_at, finished_at,"
    " dry_run, unchanged, warnings, summary, undo_of, undone_by, deleted, reverted, conflicts,"
    " mapping_source, fresh_mapping, remembered, column_types, api_day, queued_at"
)
CONTACT_COLUMNS = (
    "id, role, user_id, email, name, phone, signed_up_at, last_seen_at, last_seen_ip, tags,"
    " custom, created_at, updated_at"
)
MESSAGE_COLUMNS = (
    "id, name, type, channel, subject, body, webhook_url, audience, state, activated_at,"
    " created_at, updated_at, version"
)


# -- workspaces ---------------------------------------------------------------------------


async def workspace_by_token(pool: asyncpg.Pool, token_hash: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT id, name, webhook_secret FROM workspaces WHERE token_hash = $1", token_hash
    )


async def create_workspace(
    conn: asyncpg.Connection, id_: str, name: str, token_hash: str, webhook_secret: str
) -> None:
    await conn.execute(
        "INSERT INTO workspaces (id, name, token_hash, webhook_secret) VALUES ($1, $2, $3, $4)",
        id_,
        name,
        token_hash,
        webhook_secret,
    )


# -- browser sessions ---------------------------------------------------------------------


async def insert_session(
    conn: asyncpg.Connection | asyncpg.Pool,
    id_hash: str,
    workspace_id: str,
    csrf: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO sessions (id_hash, workspace_id, csrf, expires_at) VALUES ($1, $2, $3, $4)",
        id_hash,
        workspace_id,
        csrf,
        expires_at,
    )


async def session_by_hash(pool: asyncpg.Pool, id_hash: str) -> asyncpg.Record | None:
    """The live session's workspace (``id``, ``name``, ``webhook_secret``) and ``csrf``."""
    return await pool.fetchrow(
        "SELECT w.id, w.name, w.webhook_secret, s.csrf FROM sessions s"
        " JOIN workspaces w ON w.id = s.workspace_id"
        " WHERE s.id_hash = $1 AND s.expires_at > now()",
        id_hash,
    )


async def delete_session(pool: asyncpg.Pool, id_hash: str) -> None:
    await pool.execute("DELETE FROM sessions WHERE id_hash = $1", id_hash)


async def prune_sessions(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """Forget expired sessions (a bounded batch at a time)."""
    await conn.execute(
        "DELETE FROM sessions WHERE id_hash = ANY(ARRAY(SELECT id_hash FROM sessions"
        " WHERE expires_at <= now() LIMIT 1000))"
    )


# -- imports ------------------------------------------------------------------------------


async def insert_import(conn: asyncpg.Connection, **values: Any) -> asyncpg.Record:
    names = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO imports ({', '.join(names)}) VALUES ({placeholders})"  # names are ours
        f" RETURNING {IMPORT_COLUMNS}",
        *values.values(),
    )
    assert row is not None
    return row


async def get_import(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, import_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1 AND workspace_id = $2",
        import_id,
        workspace_id,
    )


async def list_imports(
    pool: asyncpg.Pool, workspace_id: str, limit: int, after: tuple[datetime, str] | None
) -> list[asyncpg.Record]:
    if after is None:
        return await pool.fetch(
            f"SELECT {IMPORT_COLUMNS} FROM imports WHERE workspace_id = $1"
            " ORDER BY created_at DESC, id DESC LIMIT $2",
            workspace_id,
            limit,
        )
    return await pool.fetch(
        f"SELECT {IMPORT_COLUMNS} FROM imports WHERE workspace_id = $1"
        " AND (created_at, id) < ($3::timestamptz, $4)"
        " ORDER BY created_at DESC, id DESC LIMIT $2",
        workspace_id,
        limit,
        after[0],
        after[1],
    )


async def queue_import(
    conn: asyncpg.Connection,
    import_id: str,
    kind: str,
    tag: str | None,
    trigger: bool,
    options: dict[str, Any],
    dry_run: bool,
) -> bool:
    """uploaded (or previewed: a dry run, SPEC §6.1, or a dry run cancelled) → queued, as a new
    run of the import: what an earlier run recorded (its chunks, errors, diff, counts) is
    forgotten. False when the import is none of those."""
    async with conn.transaction():
        run = await conn.fetchval(
            "UPDATE imports SET status = 'queued', kind = $2, tag = $3, trigger_messages = $4,"
            " options = $5, dry_run = $6, run = run + 1, heartbeat_at = now(), queued_at = now(),"
            " created = 0, updated = 0, failed = 0, unchanged = 0, warnings = 0,"
            " rows_total = NULL, chunks_total = NULL, rows_parsed = 0, summary = NULL,"
            " error = NULL, started_at = NULL, finished_at = NULL"
            " WHERE id = $1 AND (status IN ('uploaded', 'previewed')"
            " OR (status = 'cancelled' AND dry_run)) RETURNING run",
            import_id,
            kind,
            tag,
            trigger,
            options,
            dry_run,
        )
        if run is None:
            return False
        if run > 1:
            for table in ("import_chunks", "import_errors", "import_diffs"):
                await conn.execute(f"DELETE FROM {table} WHERE import_id = $1", import_id)
            await previews.drop(conn, import_id)
        if dry_run:  # before any chunk: the merger reads them beside a chunk still committing
            await previews.create(conn, import_id)
    return True


async def imports_ahead(
    conn: asyncpg.Connection | asyncpg.Pool,
    workspace_id: str,
    import_id: str,
    queued_at: datetime,
    remote_sources: Sequence[str],
    remote: bool,
) -> tuple[asyncpg.Record | None, int]:
    """What an import waits for (services.upload.outcomes.waiting): for a file import, the
    workspace's unfinished imports queued before it that are not remote pulls; for a remote
    pull, the workspace's pulls running. ``(the earliest, how many)``."""
    if remote:
        where = "status = 'processing' AND source = ANY($3::text[])"
        params: list[Any] = [workspace_id, import_id, list(remote_sources)]
    else:
        where = (
            "status IN ('queued', 'processing') AND source <> ALL($3::text[]) AND queued_at < $4"
        )
        params = [workspace_id, import_id, list(remote_sources), queued_at]
    rows = await conn.fetch(
        "SELECT id, file_name, source, queued_at, count(*) OVER () AS n FROM imports"
        f" WHERE workspace_id = $1 AND id <> $2 AND {where}"  # one of the two above
        " ORDER BY queued_at, id LIMIT 1",
        *params,
    )
    return (rows[0], rows[0]["n"]) if rows else (None, 0)


async def first_chunk(
    conn: asyncpg.Connection | asyncpg.Pool, import_id: str
) -> tuple[int, datetime | None, datetime]:
    """``(records, commit time)`` of the import's first applied chunk (0 and None before one),
    and the database's time now: the rate an import goes at."""
    row = await conn.fetchrow(
        "SELECT c.rows, c.applied_at, now() AS now FROM (SELECT 1) AS one"
        " LEFT JOIN import_chunks c ON c.import_id = $1 AND c.seq = 0",
        import_id,
    )
    assert row is not None
    return row["rows"] or 0, row["applied_at"], row["now"]


async def problem_tallies(
    conn: asyncpg.Connection | asyncpg.Pool, import_id: str
) -> list[dict[str, list[int]]]:
    """The problem tallies of the import's applied chunks, in row order (shared.diff)."""
    rows = await conn.fetch(
        "SELECT problems FROM import_diffs WHERE import_id = $1 ORDER BY first_row", import_id
    )
    return [r["problems"] for r in rows]


async def report_rows(
    conn: asyncpg.Connection | asyncpg.Pool, import_id: str, after_row: int, limit: int
) -> list[asyncpg.Record]:
    """``row_no, errors, warnings`` of the error report's rows after ``after_row`` (no cells)."""
    return await conn.fetch(
        "SELECT row_no, errors, coalesce(warnings, '[]'::jsonb) AS warnings FROM import_errors"
        " WHERE import_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3",
        import_id,
        after_row,
        limit,
    )


UNDOABLE = ("completed", "failed", "cancelled")


async def start_undo(
    conn: asyncpg.Connection, workspace_id: str, original: asyncpg.Record, undo_id: str
) -> bool:
    """Record the undo of ``original`` (queued), cancel the original's sends not made yet and
    count those made; False when someone undid it first."""
    async with conn.transaction():
        claimed = await conn.fetchval(
            "UPDATE imports SET undone_by = $2 WHERE id = $1 AND undone_by IS NULL"
            " AND status = ANY($3::text[]) AND NOT dry_run AND source <> 'undo' RETURNING id",
            original["id"],
            undo_id,
            list(UNDOABLE),
        )
        if claimed is None:
            return False
        # A send already claimed by a sender is under way: it is not taken back.
        cancelled = await conn.fetch(
            "UPDATE deliveries SET status = 'cancelled', reason = 'the import was undone'"
            " WHERE import_id = $1 AND status = 'pending'"
            " AND (claimed_until IS NULL OR claimed_until < now()) RETURNING message_id",
            original["id"],
        )
        gone = Counter(r["message_id"] for r in cancelled)
        rows = await conn.fetch(
            "SELECT d.message_id, m.name, count(*) FILTER (WHERE d.status <> 'cancelled') AS n"
            " FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.import_id = $1"
            " GROUP BY d.message_id, m.name"
            " HAVING count(*) FILTER (WHERE d.status <> 'cancelled') > 0"
            " OR d.message_id = ANY($2::text[]) ORDER BY d.message_id",
            original["id"],
            list(gone),
        )
        messages = [
            {
                "message_id": r["message_id"],
                "name": r["name"],
                "deliveries": r["n"],
                "suppressed": False,
                "cancelled": gone[r["message_id"]],
            }
            for r in rows
        ]
        await conn.execute(
            "INSERT INTO imports (id, workspace_id, source, kind, status, undo_of,"
            " trigger_messages, run, heartbeat_at, summary)"
            " VALUES ($1, $2, 'undo', $3, 'queued', $4, false, 1, now(), $5)",
            undo_id,
            workspace_id,
            original["kind"],
            original["id"],
            {"fields": {}, "problems": [], "messages": messages},
        )
    return True


async def message_ids(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, ids: Sequence[str]
) -> set[str]:
    """Those of ``ids`` that are messages of the workspace."""
    rows = await conn.fetch(
        "SELECT id FROM messages WHERE workspace_id = $1 AND id = ANY($2::text[])",
        workspace_id,
        list(ids),
    )
    return {r["id"] for r in rows}


async def diff_chunks(
    pool: asyncpg.Pool, import_id: str, after_row: int, result: str | None, limit: int
) -> list[asyncpg.Record]:
    """The import's diff rows (one per chunk) holding records after ``after_row`` (of
    ``result``, when given), in row order."""
    having = {
        None: "true",
        "created": "created > 0",
        "updated": "updated > 0",
        "unchanged": "unchanged > 0",
        "failed": "failed > 0",
    }[result]
    return await pool.fetch(
        "SELECT last_row, entries FROM import_diffs WHERE import_id = $1 AND last_row > $2"
        f" AND {having} ORDER BY first_row LIMIT $3",
        import_id,
        after_row,
        limit,
    )


async def set_columns(conn: asyncpg.Connection, import_id: str, columns: list[str]) -> None:
    """The columns of a file read again with another encoding or delimiter."""
    await conn.execute("UPDATE imports SET columns = $2 WHERE id = $1", import_id, columns)


async def set_described(conn: asyncpg.Connection, import_id: str, **values: Any) -> None:
    """An upload described again (read with another encoding or delimiter): its ``detected``,
    ``columns``, ``preview`` and what the mapping step offers for them."""
    names = list(values)
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))  # names are ours
    await conn.execute(f"UPDATE imports SET {sets} WHERE id = $1", import_id, *values.values())


async def error_rows(
    pool: asyncpg.Pool, import_id: str, after_row: int, limit: int
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT row_no, errors, warnings, cells FROM import_errors"
        " WHERE import_id = $1 AND row_no > $2"
        " ORDER BY row_no LIMIT $3",
        import_id,
        after_row,
        limit,
    )


# -- people -------------------------------------------------------------------------------


async def get_contact(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, contact_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1 AND workspace_id = $2",
        contact_id,
        workspace_id,
    )


async def find_contacts(
    pool: asyncpg.Pool,
    workspace_id: str,
    *,
    limit: int,
    email: str | None = None,
    user_id: str | None = None,
    tag: str | None = None,
    role: str | None = None,
    text: str | None = None,
    before_id: str | None = None,
    audience: tuple[Any, FilterContext] | None = None,
) -> list[asyncpg.Record]:
    """People of the workspace, newest first, filtered by every condition given (None: no
    condition; ``audience``: a filter and its context, compiled here)."""
    where = ["workspace_id = $1"]
    params: list[Any] = [workspace_id]

    def add(sql: str, value: Any) -> None:
        params.append(value)
        where.append(sql.replace("?", f"${len(params)}"))

    if email is not None:
        add("email_lower = lower(? COLLATE pg_c_utf8)", email.strip())
    if user_id is not None:
        add("user_id = ?", user_id)
    if tag is not None:
        add(
            "EXISTS (SELECT 1 FROM unnest(tags) t"
            " WHERE lower(t COLLATE pg_c_utf8) = lower(? COLLATE pg_c_utf8))",
            tag.strip(),
        )
    if role is not None:
        add("role = ?", role)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        add("(name ILIKE ? OR email ILIKE ?)", pattern)
    if before_id is not None:
        add("id < ?", before_id)
    if audience is not None:
        filter_, ctx = audience
        sql, extra = to_sql(filter_, ctx, alias="c", first_param=len(params) + 1)
        where.append(f"({sql})")
        params.extend(extra)
    params.append(limit)
    return await pool.fetch(
        f"SELECT {CONTACT_COLUMNS} FROM contacts c WHERE {' AND '.join(where)}"
        f" ORDER BY id DESC LIMIT ${len(params)}",
        *params,
    )


async def failed_rows_naming(
    pool: asyncpg.Pool,
    workspace_id: str,
    *,
    email: str | None,
    user_id: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The failed rows of the workspace's CSV imports (dry runs apart) whose email column
    holds ``email`` (ignoring case) or whose user ID column holds ``user_id``, newest import
    first: ``import_id, file_name, import_created_at, row_no, errors``. Only rows the parser
    refused keep their cells; those the merger refused (an ambiguous email) are read back from
    the file when their report is downloaded, so they are not found here."""
    if email is None and user_id is None:
        return []
    position = (
        "(SELECT c.o - 1 FROM jsonb_array_elements_text(i.columns) WITH ORDINALITY AS c(name, o)"
        " WHERE c.name = i.options #>> '{mapping,%s}')::int"
    )
    return await pool.fetch(
        "WITH failed AS (SELECT i.id, i.file_name, i.created_at,"
        f" {position % 'email'} AS email_at, {position % 'user_id'} AS user_id_at"
        " FROM imports i WHERE i.workspace_id = $1 AND NOT i.dry_run AND i.failed > 0"
        " AND i.source IN ('csv', 'mailchimp_csv'))"
        " SELECT f.id AS import_id, f.file_name, f.created_at AS import_created_at,"
        " e.row_no, e.errors FROM failed f JOIN import_errors e ON e.import_id = f.id"
        " WHERE jsonb_typeof(e.cells) = 'array' AND jsonb_array_length(e.errors) > 0 AND ("
        " lower(btrim(e.cells ->> f.email_at) COLLATE pg_c_utf8)"
        " = lower(btrim($2::text) COLLATE pg_c_utf8)"
        " OR btrim(e.cells ->> f.user_id_at) = btrim($3::text))"
        " ORDER BY f.created_at DESC, f.id DESC, e.row_no LIMIT $4",
        workspace_id,
        email,
        user_id,
        limit,
    )


async def inbox(
    pool: asyncpg.Pool, contact_id: str, before: tuple[datetime, str] | None, limit: int
) -> list[asyncpg.Record]:
    params: list[Any] = [contact_id, limit]
    cond = ""
    if before is not None:
        cond = " AND (d.created_at, d.message_id) < ($3::timestamptz, $4)"
        params += [before[0], before[1]]
    return await pool.fetch(
        "SELECT d.message_id, d.subject, d.body, d.status, d.created_at, d.delivered_at, m.name"
        " FROM deliveries d JOIN messages m ON m.id = d.message_id"
        " WHERE d.contact_id = $1 AND m.channel = 'in_app' AND d.status = 'delivered'"
        + cond
        + " ORDER BY d.created_at DESC, d.message_id DESC LIMIT $2",
        *params,
    )


# -- messages, tags, segments -------------------------------------------------------------


async def count_matching(
    pool: asyncpg.Pool, workspace_id: str, filter_: Any, ctx: FilterContext
) -> int:
    sql, params = to_sql(filter_, ctx, alias="c", first_param=2)
    value: int = await pool.fetchval(
        f"SELECT count(*) FROM contacts c WHERE c.workspace_id = $1 AND ({sql})",
        workspace_id,
        *params,
    )
    return value


async def insert_message(conn: asyncpg.Connection, **values: Any) -> asyncpg.Record:
    names = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO messages ({', '.join(names)}) VALUES ({placeholders})"  # names are ours
        f" RETURNING {MESSAGE_COLUMNS}",
        *values.values(),
    )
    assert row is not None
    return row


async def get_message(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, message_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND workspace_id = $2",
        message_id,
        workspace_id,
    )


async def update_message(
    conn: asyncpg.Connection,
    message_id: str,
    changes: dict[str, Any],
    *,
    new_version: bool = False,
) -> asyncpg.Record:
    """Apply ``changes``; with ``new_version``, first keep the current content in
    ``message_versions`` and number the message's content one version on (call it in a
    transaction: the kept version and the change go together)."""
    if new_version:
        await conn.execute(
            "INSERT INTO message_versions"
            " (message_id, version, name, subject, body, webhook_url, audience)"
            " SELECT id, version, name, subject, body, webhook_url, audience FROM messages"
            " WHERE id = $1 ON CONFLICT DO NOTHING",
            message_id,
        )
    names = list(changes)
    sets = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=2))  # names are ours
    bump = ", version = version + 1" if new_version else ""
    row = await conn.fetchrow(
        f"UPDATE messages SET {sets}{bump}, updated_at = now() WHERE id = $1"
        f" RETURNING {MESSAGE_COLUMNS}",
        message_id,
        *changes.values(),
    )
    assert row is not None
    return row


async def list_messages(
    pool: asyncpg.Pool,
    workspace_id: str,
    before: tuple[datetime, str] | None,
    limit: int,
    archived: bool = False,
) -> list[asyncpg.Record]:
    """The workspace's messages, newest first: the archived ones, or (by default) the others."""
    params: list[Any] = [workspace_id, limit, archived]
    cond = ""
    if before is not None:
        cond = " AND (created_at, id) < ($4::timestamptz, $5)"
        params += [before[0], before[1]]
    return await pool.fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE workspace_id = $1"
        " AND (state = 'archived') = $3" + cond + " ORDER BY created_at DESC, id DESC LIMIT $2",
        *params,
    )


async def delivery_counts(
    conn: asyncpg.Connection | asyncpg.Pool, message_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per message, its deliveries by status (one query for a page of messages)."""
    rows = await conn.fetch(
        "SELECT message_id, status, count(*) AS n FROM deliveries"
        " WHERE message_id = ANY($1::text[]) GROUP BY message_id, status",
        list(message_ids),
    )
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["message_id"], {})[r["status"]] = r["n"]
    return counts


async def requeue_failed(conn: asyncpg.Connection | asyncpg.Pool, message_id: str) -> int:
    """Make the message's failed deliveries pending again (the messenger's sweep claims them
    within seconds); how many. A row changes only from failed to pending, once: a delivery
    being sent (pending, claimed) or delivered is never touched, so none is sent twice."""
    rows = await conn.fetch(
        "UPDATE deliveries SET status = 'pending', claimed_until = NULL"
        " WHERE message_id = $1 AND status = 'failed' RETURNING contact_id",
        message_id,
    )
    return len(rows)


async def reach_counts(
    pool: asyncpg.Pool,
    workspace_id: str,
    filter_: Any,
    ctx: FilterContext,
    message_id: str | None,
) -> tuple[int, int]:
    """``(matching, already)``: people who match ``filter_`` now, and those of them with a
    delivery of ``message_id`` (any status: the message is not sent to them again)."""
    sql, params = to_sql(filter_, ctx, alias="c", first_param=3)
    row = await pool.fetchrow(
        "SELECT count(*) AS matching, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM deliveries d"
        " WHERE d.message_id = $2 AND d.contact_id = c.id)) AS already"
        f" FROM contacts c WHERE c.workspace_id = $1 AND ({sql})",
        workspace_id,
        message_id or "",
        *params,
    )
    assert row is not None
    return row["matching"], row["already"]


async def message_versions(pool: asyncpg.Pool, message_id: str) -> list[asyncpg.Record]:
    """The earlier versions of a message (newest first), with what was delivered of each."""
    return await pool.fetch(
        "SELECT v.version, v.name, v.subject, v.body, v.webhook_url, v.audience, v.replaced_at"
        " FROM message_versions v WHERE v.message_id = $1 ORDER BY v.version DESC",
        message_id,
    )


async def delivery_counts_by_version(
    pool: asyncpg.Pool, message_id: str
) -> dict[int, dict[str, int]]:
    rows = await pool.fetch(
        "SELECT message_version, status, count(*) AS n FROM deliveries WHERE message_id = $1"
        " GROUP BY message_version, status",
        message_id,
    )
    counts: dict[int, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["message_version"], {})[r["status"]] = r["n"]
    return counts


async def deliveries(
    pool: asyncpg.Pool, message_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[asyncpg.Record]:
    params: list[Any] = [message_id, limit]
    cond = ""
    if after is not None:
        cond = " AND (d.created_at, d.contact_id) > ($3::timestamptz, $4)"
        params += [after[0], after[1]]
    return await pool.fetch(
        "SELECT d.contact_id, c.email, c.user_id, d.status, d.reason, d.created_at,"
        " d.delivered_at, d.attempts, d.message_version"
        " FROM deliveries d JOIN contacts c ON c.id = d.contact_id"
        " WHERE d.message_id = $1" + cond + " ORDER BY d.created_at, d.contact_id LIMIT $2",
        *params,
    )


async def list_tags(
    pool: asyncpg.Pool | asyncpg.Connection, workspace_id: str, after: str | None, limit: int
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, name, name_lower, created_at FROM tags WHERE workspace_id = $1"
        " AND name_lower > $2 ORDER BY name_lower LIMIT $3",
        workspace_id,
        after or "",
        limit,
    )


async def tags_named(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, names: Sequence[str]
) -> dict[str, asyncpg.Record]:
    """The workspace's tags of ``names`` (any case), by lower-case name: ``id``, ``name``."""
    rows = await conn.fetch(
        "SELECT id, name, name_lower FROM tags WHERE workspace_id = $1"
        " AND name_lower = ANY(ARRAY(SELECT lower(n COLLATE pg_c_utf8) FROM unnest($2::text[]) n))",
        workspace_id,
        list(names),
    )
    return {r["name_lower"]: r for r in rows}


async def tags_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, ids: Sequence[str]
) -> dict[str, str]:
    """The names of the workspace's tags of ``ids`` (ids as text; others are not tags)."""
    numbers = [int(i) for i in ids if i.isdigit() and len(i) < 19]
    rows = await conn.fetch(
        "SELECT id, name FROM tags WHERE workspace_id = $1 AND id = ANY($2::bigint[])",
        workspace_id,
        numbers,
    )
    return {str(r["id"]): r["name"] for r in rows}


async def insert_segment(
    conn: asyncpg.Connection | asyncpg.Pool, id_: str, workspace_id: str, name: str, filter_: Any
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO segments (id, workspace_id, name, filter) VALUES ($1, $2, $3, $4)"
        " RETURNING id, name, filter, created_at",
        id_,
        workspace_id,
        name,
        filter_,
    )
    assert row is not None
    return row


async def get_segment(
    pool: asyncpg.Pool, workspace_id: str, segment_id: str
) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT id, name, filter, created_at FROM segments WHERE id = $1 AND workspace_id = $2",
        segment_id,
        workspace_id,
    )


async def list_segments(pool: asyncpg.Pool, workspace_id: str) -> Sequence[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, name, filter, created_at FROM segments WHERE workspace_id = $1"
        " ORDER BY created_at DESC",
        workspace_id,
    )


# -- events -------------------------------------------------------------------------------


async def find_people(
    conn: asyncpg.Connection,
    workspace_id: str,
    ids: Sequence[str],
    user_ids: Sequence[str],
    emails: Sequence[str],
) -> list[asyncpg.Record]:
    """Contacts of the workspace with one of these ids, user_ids or (lower-case) emails: one
    round trip for a whole batch of events."""
    return await conn.fetch(
        "SELECT id, user_id, email_lower FROM contacts"
        " WHERE workspace_id = $1 AND id = ANY($2::text[])"
        " UNION SELECT id, user_id, email_lower FROM contacts"
        " WHERE workspace_id = $1 AND user_id = ANY($3::text[])"
        " UNION SELECT id, user_id, email_lower FROM contacts"
        " WHERE workspace_id = $1 AND email_lower = ANY($4::text[])",
        workspace_id,
        list(ids),
        list(user_ids),
        list(emails),
    )


async def insert_events(
    conn: asyncpg.Connection,
    workspace_id: str,
    contact_ids: Sequence[str],
    names: Sequence[str],
    created_at: Sequence[datetime],
    metadata: Sequence[str],
) -> list[str]:
    """Store events (one statement for the batch); returns the contact id of each event that
    was new. The same (person, name, created_at) again — also twice in one batch — is skipped.
    ``metadata`` holds JSON texts."""
    rows = await conn.fetch(
        "INSERT INTO events (workspace_id, contact_id, name, created_at, metadata)"
        " SELECT $1, x.c, x.n, x.t, x.m::jsonb"
        " FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS x(c, n, t, m)"
        " ON CONFLICT DO NOTHING RETURNING contact_id",
        workspace_id,
        list(contact_ids),
        list(names),
        list(created_at),
        list(metadata),
    )
    return [r["contact_id"] for r in rows]


async def person_events(
    pool: asyncpg.Pool, contact_id: str, before: tuple[datetime, str] | None, limit: int
) -> list[asyncpg.Record]:
    """A person's events, newest first, after the cursor ``[created_at, name]``."""
    if before is None:
        return await pool.fetch(
            "SELECT name, created_at, metadata FROM events WHERE contact_id = $1"
            " ORDER BY created_at DESC, name DESC LIMIT $2",
            contact_id,
            limit,
        )
    return await pool.fetch(
        "SELECT name, created_at, metadata FROM events WHERE contact_id = $1"
        " AND (created_at, name) < ($3::timestamptz, $4)"
        " ORDER BY created_at DESC, name DESC LIMIT $2",
        contact_id,
        limit,
        before[0],
        before[1],
    )


async def event_summary(pool: asyncpg.Pool, contact_id: str) -> list[asyncpg.Record]:
    """A person's events by name: ``name``, ``first``, ``last``, ``count``."""
    return await pool.fetch(
        "SELECT name, min(created_at) AS first, max(created_at) AS last, count(*) AS count"
        " FROM events WHERE contact_id = $1 GROUP BY name ORDER BY name",
        contact_id,
    )


# -- conflicts (SPEC §6.4) -----------------------------------------------------------------

CONFLICT_COLUMNS = (
    "id, workspace_id, import_id, row_no, reason, kind, tag, record, candidates, status,"
    " resolution, created_at, resolved_at"
)


async def open_conflicts(
    pool: asyncpg.Pool, workspace_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[asyncpg.Record]:
    """Open conflicts, oldest first."""
    if after is None:
        return await pool.fetch(
            f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE workspace_id = $1"
            " AND status = 'open' ORDER BY created_at, id LIMIT $2",
            workspace_id,
            limit,
        )
    return await pool.fetch(
        f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE workspace_id = $1 AND status = 'open'"
        " AND (created_at, id) > ($3::timestamptz, $4) ORDER BY created_at, id LIMIT $2",
        workspace_id,
        limit,
        after[0],
        after[1],
    )


async def lock_conflict(
    conn: asyncpg.Connection, workspace_id: str, conflict_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = $1 AND workspace_id = $2 FOR UPDATE",
        conflict_id,
        workspace_id,
    )


async def resolve_conflict(
    conn: asyncpg.Connection, conflict_id: str, resolution: dict[str, Any]
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE conflicts SET status = 'resolved', resolution = $2, resolved_at = now()"
        f" WHERE id = $1 RETURNING {CONFLICT_COLUMNS}",
        conflict_id,
        resolution,
    )
    assert row is not None
    return row


async def contacts_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, ids: Sequence[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = ANY($2::text[])",
        workspace_id,
        list(ids),
    )
    return {r["id"]: r for r in rows}
