"""Rows made straight in the database, and queries from synchronous code, for tests and
harnesses below the HTTP API."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from shared import db
from shared.ids import new_id


async def fresh_database(admin_dsn: str, name: str) -> str:
    """A new, migrated database ``name`` on the server of ``admin_dsn`` (dropped first if it
    exists); its DSN."""
    conn = await db.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # our own name
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dsn = admin_dsn.rsplit("/", 1)[0] + "/" + name
    await db.migrate(dsn)
    return dsn


async def new_workspace(pool: asyncpg.Pool) -> str:
    """A workspace made straight in the database; its id."""
    workspace_id = f"ws_{uuid.uuid4().hex}"
    await pool.execute(
        "INSERT INTO workspaces (id, name, token_hash, webhook_secret) VALUES ($1, 'w', $2, 's')",
        workspace_id,
        uuid.uuid4().hex,
    )
    return workspace_id


async def new_message(
    pool: asyncpg.Pool,
    workspace_id: str,
    audience: object,
    *,
    channel: str = "in_app",
    state: str = "live",
    subject: str = "Hi {{name}}",
    body: str = "Plan {{custom.plan}}",
    webhook_url: str | None = None,
) -> str:
    """An auto message made straight in the database; its id."""
    message_id = new_id("m_")
    await pool.execute(
        "INSERT INTO messages (id, workspace_id, name, type, channel, subject, body, webhook_url,"
        " audience, state) VALUES ($1, $2, 'm', 'auto', $3, $4, $5, $6, $7, $8)",
        message_id,
        workspace_id,
        channel,
        subject,
        body,
        webhook_url,
        audience,
        state,
    )
    return message_id


def query(dsn: str, sql: str, *args: Any) -> list[Any]:
    """The rows of one query, from synchronous code."""

    async def run() -> list[Any]:
        conn = await db.connect(dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())
