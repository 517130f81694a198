"""All SQL of the messenger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.filters import FilterContext, to_sql

CONTACT_FIELDS = "c.id, c.email, c.name, c.custom"


async def live_messages(
    conn: asyncpg.Connection, workspace_id: str, type_: str = "auto"
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, workspace_id, type, channel, subject, body, webhook_url, audience, state,"
        " updated_at, version FROM messages"
        " WHERE workspace_id = $1 AND state = 'live' AND type = $2",
        workspace_id,
        type_,
    )


async def message(conn: asyncpg.Connection, message_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, workspace_id, type, channel, subject, body, webhook_url, audience, state,"
        " version FROM messages WHERE id = $1",
        message_id,
    )


async def matching_undelivered(
    conn: asyncpg.Connection,
    message_row: asyncpg.Record,
    ctx: FilterContext,
    contact_ids: Sequence[str] | None,
    after_id: str = "",
    limit: int = 5000,
) -> list[asyncpg.Record]:
    """People of the message's workspace who match its audience and have no delivery of it.

    ``contact_ids`` restricts to those people (a change event); ``None`` means the whole
    workspace, paged by id (``after_id``, ``limit``).
    """
    where, params = to_sql(message_row["audience"], ctx, alias="c", first_param=5)
    scope = "c.id = ANY($3::text[])" if contact_ids is not None else "c.id > $3"
    sql = (
        f"SELECT {CONTACT_FIELDS} FROM contacts c"
        " WHERE c.workspace_id = $1 AND " + scope + " AND (" + where + ")"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = $2"
        " AND d.contact_id = c.id) ORDER BY c.id LIMIT $4"
    )
    scope_value: Any = list(contact_ids) if contact_ids is not None else after_id
    return await conn.fetch(
        sql, message_row["workspace_id"], message_row["id"], scope_value, limit, *params
    )


async def insert_deliveries(
    conn: asyncpg.Connection,
    message_row: asyncpg.Record,
    rows: Sequence[tuple[str, str, str]],
    status: str,
    import_id: str | None,
    changed_at: datetime | None,
) -> list[str]:
    """Record deliveries ``(contact_id, subject, body)`` of the message's version; returns the
    contact ids that were new.

    The primary key (message_id, contact_id) makes a second attempt a no-op: at most once.
    """
    if not rows:
        return []
    records = await conn.fetch(
        "INSERT INTO deliveries (message_id, contact_id, workspace_id, status, subject, body,"
        " import_id, changed_at, delivered_at, message_version)"
        " SELECT $1, x.contact_id, $2, $3, x.subject, x.body, $4, $5,"
        " CASE WHEN $3 = 'delivered' THEN clock_timestamp() END, $9"
        " FROM unnest($6::text[], $7::text[], $8::text[]) AS x(contact_id, subject, body)"
        " ON CONFLICT DO NOTHING RETURNING contact_id",
        message_row["id"],
        message_row["workspace_id"],
        status,
        import_id,
        changed_at,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        message_row["version"],
    )
    return [r["contact_id"] for r in records]


async def delete_outbox(conn: asyncpg.Connection, outbox_id: int) -> None:
    await conn.execute("DELETE FROM outbox WHERE id = $1", outbox_id)


async def stale_outbox(
    conn: asyncpg.Connection, older_than_s: float, limit: int = 100
) -> list[tuple[int, bytes]]:
    """``(id, payload)`` of outbox rows older than ``older_than_s``: events nobody handled."""
    rows = await conn.fetch(
        "SELECT id, payload FROM outbox WHERE created_at < now() - make_interval(secs => $1)"
        " ORDER BY id LIMIT $2",
        older_than_s,
        limit,
    )
    return [(r["id"], r["payload"]) for r in rows]


async def sendable_workspaces(conn: asyncpg.Connection, limit: int = 1000) -> list[str]:
    """Workspaces with an email or webhook send that nobody is making now: never claimed, or
    claimed by a sender whose lease ran out (it crashed)."""
    rows = await conn.fetch(
        "SELECT DISTINCT workspace_id FROM deliveries WHERE status = 'pending'"
        " AND (claimed_until IS NULL OR claimed_until < now()) LIMIT $1",
        limit,
    )
    return [r["workspace_id"] for r in rows]


async def claim(
    conn: asyncpg.Connection, workspace_id: str, limit: int, lease_s: float
) -> list[asyncpg.Record]:
    """Claim up to ``limit`` of the workspace's oldest pending sends of live messages for
    ``lease_s`` seconds, with what the send needs. A row claimed by someone else (locked, or
    with a lease running) is skipped: the same send is never made twice at once."""
    return await conn.fetch(
        "WITH picked AS ("
        " SELECT d.message_id, d.contact_id FROM deliveries d"
        " JOIN messages m ON m.id = d.message_id"
        " WHERE d.workspace_id = $1 AND d.status = 'pending' AND m.state = 'live'"
        " AND (d.claimed_until IS NULL OR d.claimed_until < now())"
        " ORDER BY d.created_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED)"
        " UPDATE deliveries d SET claimed_until = now() + make_interval(secs => $3)"
        " FROM picked p, messages m, contacts c, workspaces w"
        " WHERE d.message_id = p.message_id AND d.contact_id = p.contact_id"
        " AND m.id = d.message_id AND c.id = d.contact_id AND w.id = d.workspace_id"
        " RETURNING d.message_id, d.contact_id, d.workspace_id, d.subject, d.body, d.attempts,"
        " d.created_at, c.email, c.name, c.custom, m.channel, m.webhook_url,"
        " m.subject AS message_subject, m.body AS message_body,"
        " d.message_version, m.version AS message_version_now, w.webhook_secret",
        workspace_id,
        limit,
        lease_s,
    )


async def still_sendable(conn: asyncpg.Connection, message_id: str) -> bool:
    """Whether the message is still live (pausing it stops the sends not made yet)."""
    state: str | None = await conn.fetchval("SELECT state FROM messages WHERE id = $1", message_id)
    return state == "live"


async def release(conn: asyncpg.Connection, message_id: str, contact_id: str) -> None:
    """Give a claimed send back unsent (its message was paused meanwhile)."""
    await conn.execute(
        "UPDATE deliveries SET claimed_until = NULL"
        " WHERE message_id = $1 AND contact_id = $2 AND status = 'pending'",
        message_id,
        contact_id,
    )


async def finish_delivery(
    conn: asyncpg.Connection,
    message_id: str,
    contact_id: str,
    status: str,
    reason: str | None,
    attempts: int,
    subject: str | None = None,
    body: str | None = None,
    version: int | None = None,
) -> None:
    """Record how a send went (and, when the message was edited since the row was written,
    the subject and body actually sent, and the version they are of)."""
    await conn.execute(
        "UPDATE deliveries SET status = $3, reason = $4, attempts = $5, claimed_until = NULL,"
        " subject = coalesce($6, subject), body = coalesce($7, body),"
        " message_version = coalesce($8, message_version),"
        " delivered_at = CASE WHEN $3 = 'delivered' THEN clock_timestamp() END"
        " WHERE message_id = $1 AND contact_id = $2 AND status = 'pending'",
        message_id,
        contact_id,
        status,
        reason,
        attempts,
        subject,
        body,
        version,
    )
