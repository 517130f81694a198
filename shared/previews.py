"""A dry run's own state (SPEC §6.1): what the workspace would look like so far, kept apart.

A dry run changes nothing in the workspace, yet chunk *n* must see what chunks before it would
have done (the same person twice in a file is an update the second time). So each dry run has
its own tables in the ``previews`` schema, created when it is queued and dropped when it
ends: ``<id>_contacts`` (every person it created or changed, as it would have them; read in
place of their stored state), ``<id>_tags`` (the tag spellings it would add) and ``<id>_reach``
(who each live message would reach, once per person). They are written in the chunk's
transaction, beside its marker, so a dry run is exactly-once like any import. Kept in
PostgreSQL, not in the merger's memory: a dry run of millions of rows holds millions of people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import asyncpg

from shared import people_store
from shared.identity import Contact
from shared.values import fold

_SAFE = re.compile(r"[A-Za-z0-9_]{1,40}")


def _table(import_id: str, what: str) -> str:
    if _SAFE.fullmatch(import_id) is None:
        raise ValueError(f"not an import id: {import_id!r}")
    return f'previews."{import_id}_{what}"'


async def create(conn: asyncpg.Connection, import_id: str) -> None:
    """The dry run's tables: made when it is queued (and again, if need be, by its first
    chunk), since its chunks read them beside the one before, which may still be committing."""
    contacts = _table(import_id, "contacts")
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {contacts}"
        " (LIKE contacts INCLUDING DEFAULTS INCLUDING GENERATED, PRIMARY KEY (id));"
        f' CREATE INDEX IF NOT EXISTS "{import_id}_user_id" ON {contacts} (user_id);'
        f' CREATE INDEX IF NOT EXISTS "{import_id}_email" ON {contacts} (email_lower);'
        f" CREATE TABLE IF NOT EXISTS {_table(import_id, 'tags')} (name text NOT NULL,"
        " name_lower text GENERATED ALWAYS AS (lower(name COLLATE pg_c_utf8)) STORED"
        " PRIMARY KEY);"
        f" CREATE TABLE IF NOT EXISTS {_table(import_id, 'reach')} (message_id text NOT NULL,"
        " contact_id text NOT NULL, PRIMARY KEY (message_id, contact_id))"
    )


async def drop(conn: asyncpg.Connection | asyncpg.Pool, import_id: str) -> None:
    """Forget the dry run's state (it ended, or it is run again)."""
    await conn.execute(
        "DROP TABLE IF EXISTS "
        + ", ".join(_table(import_id, what) for what in ("contacts", "tags", "reach"))
    )


async def load_contacts(
    conn: asyncpg.Connection,
    workspace_id: str,
    import_id: str,
    user_ids: Sequence[str],
    email_keys: Iterable[str],
) -> tuple[list[Contact], set[str]]:
    """:func:`shared.people_store.load_contacts` as the dry run has the people so far, and the
    ids of those it created or changed already."""
    email_keys = list(email_keys)
    stored = await people_store.load_contacts(conn, workspace_id, user_ids, email_keys)
    rows = await conn.fetch(
        people_store.SELECT_FROM.format(table=_table(import_id, "contacts"))
        + " WHERE user_id = ANY($1::text[]) OR email_lower = ANY($2::text[])"
        " OR id = ANY($3::text[])",
        list(user_ids),
        email_keys,
        [c.id for c in stored],
    )
    mine = [people_store.contact(r) for r in rows]
    ids = {c.id for c in mine}
    return [*mine, *(c for c in stored if c.id not in ids)], ids


async def load_tags(
    conn: asyncpg.Connection, import_id: str, names: Iterable[str]
) -> dict[str, str]:
    """The spellings the dry run would add, of those of ``names`` it has seen."""
    rows = await conn.fetch(
        f"SELECT name_lower, name FROM {_table(import_id, 'tags')}"
        " WHERE name_lower = ANY($1::text[])",
        sorted({fold(n) for n in names}),
    )
    return {r["name_lower"]: r["name"] for r in rows}


async def write(
    conn: asyncpg.Connection,
    import_id: str,
    rows: people_store.Rows,
    fresh_tags: Iterable[str] = (),
) -> None:
    """Keep the people a chunk created or changed, as the dry run has them now."""
    new, changed = rows
    table = _table(import_id, "contacts")
    if changed:
        ids = [r[0] for r in changed]
        await conn.execute(f"DELETE FROM {table} WHERE id = ANY($1::text[])", ids)
    if new or changed:
        await people_store.copy_contacts(
            conn, f"{import_id}_contacts", [*new, *changed], schema_name="previews"
        )
    fresh = list(fresh_tags)
    if fresh:
        await conn.execute(
            f"INSERT INTO {_table(import_id, 'tags')} (name) SELECT unnest($1::text[])"
            " ON CONFLICT DO NOTHING",
            fresh,
        )


async def add_reach(
    conn: asyncpg.Connection, import_id: str, matched: Mapping[str, Iterable[str]]
) -> None:
    """Note who each message would reach (``matched``: message id -> contact ids), leaving out
    whoever has had it already."""
    pairs = [(m, c) for m, ids in matched.items() for c in ids]
    if not pairs:
        return
    await conn.execute(
        f"INSERT INTO {_table(import_id, 'reach')} (message_id, contact_id)"
        " SELECT m, c FROM unnest($1::text[], $2::text[]) AS x(m, c)"
        " WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = x.m"
        " AND d.contact_id = x.c) ON CONFLICT DO NOTHING",
        [m for m, _ in pairs],
        [c for _, c in pairs],
    )


async def reach(conn: asyncpg.Connection, import_id: str) -> dict[str, int]:
    """Message id -> how many people the dry run would reach with it."""
    rows = await conn.fetch(
        f"SELECT message_id, count(*) AS n FROM {_table(import_id, 'reach')} GROUP BY message_id"
    )
    return {r["message_id"]: r["n"] for r in rows}
