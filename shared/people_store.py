"""Repository of people: every SQL statement the identity engine's callers need.

Used by the merger (a chunk of an import) and by the upload service (``POST /api/users``), always
inside one transaction that first takes the workspace lock (:func:`lock_workspace`), so writes to
one workspace are applied one batch at a time, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from shared import pgcopy
from shared.identity import STATE_FIELDS, Contact, State
from shared.values import fold

# The columns a contact row (:func:`_row`) has, with their types for its binary COPY.
_TEXT, _TIME = pgcopy.TEXT, pgcopy.TIMESTAMPTZ
_CONTACT = (
    ("id", _TEXT),
    ("workspace_id", _TEXT),
    ("role", _TEXT),
    ("user_id", _TEXT),
    ("email", _TEXT),
    ("name", _TEXT),
    ("phone", _TEXT),
    ("signed_up_at", _TIME),
    ("last_seen_at", _TIME),
    ("last_seen_ip", _TEXT),
    ("tags", pgcopy.TEXT_ARRAY),
    ("custom", pgcopy.JSONB),
    ("created_at", _TIME),
    ("updated_at", _TIME),
)
CONTACT_COLUMNS = tuple(name for name, _ in _CONTACT)
# A new contact's row from its State (contact_rows): its id, the workspace, then its fields.
assert CONTACT_COLUMNS == (STATE_FIELDS[0], "workspace_id", *STATE_FIELDS[1:])
# A contact as the engine reads it, from ``{table}`` (contacts, or a dry run's own people).
SELECT_FROM = (
    "SELECT id, role, user_id, email, name, phone, signed_up_at, last_seen_at, last_seen_ip,"
    " tags, custom, created_at, updated_at FROM {table}"
)
_SELECT = SELECT_FROM.format(table="contacts")


async def lock_workspace(conn: asyncpg.Connection, workspace_id: str) -> None:
    """Serialise writers of one workspace until the end of the current transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", workspace_id)


def contact(row: asyncpg.Record) -> Contact:
    """A row of :data:`SELECT_FROM` as the engine's working copy."""
    return Contact(
        id=row["id"],
        role=row["role"],
        user_id=row["user_id"],
        email=row["email"],
        name=row["name"],
        phone=row["phone"],
        signed_up_at=row["signed_up_at"],
        last_seen_at=row["last_seen_at"],
        last_seen_ip=row["last_seen_ip"],
        tags=list(row["tags"]),
        custom=row["custom"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def load_contacts(
    conn: asyncpg.Connection,
    workspace_id: str,
    user_ids: Sequence[str],
    email_keys: Iterable[str],
) -> list[Contact]:
    """Every contact of the workspace with one of ``user_ids`` or of ``email_keys``
    (:func:`shared.values.email_key` of each email)."""
    # One scan of both indexes (a BitmapOr); UNION would sort whole rows to drop duplicates.
    rows = await conn.fetch(
        _SELECT + " WHERE workspace_id = $1"
        " AND (user_id = ANY($2::text[]) OR email_lower = ANY($3::text[]))",
        workspace_id,
        list(user_ids),
        list(email_keys),
    )
    return [contact(r) for r in rows]


async def load_by_ids(
    conn: asyncpg.Connection, workspace_id: str, ids: Sequence[str]
) -> dict[str, Contact]:
    """The workspace's contacts of ``ids`` (those that still exist), by id."""
    rows = await conn.fetch(
        _SELECT + " WHERE workspace_id = $1 AND id = ANY($2::text[])", workspace_id, list(ids)
    )
    return {r["id"]: contact(r) for r in rows}


async def with_events(conn: asyncpg.Connection, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that have events."""
    rows = await conn.fetch(
        "SELECT DISTINCT contact_id FROM events WHERE contact_id = ANY($1::text[])", list(ids)
    )
    return {r["contact_id"] for r in rows}


async def move_activity(conn: asyncpg.Connection, from_id: str, into_id: str) -> None:
    """Give ``into_id`` the events and deliveries of ``from_id`` (one it has already of the same
    event or message is kept, the other dropped)."""
    await conn.execute(
        "INSERT INTO events (workspace_id, contact_id, name, created_at, metadata)"
        " SELECT workspace_id, $2, name, created_at, metadata FROM events WHERE contact_id = $1"
        " ON CONFLICT DO NOTHING",
        from_id,
        into_id,
    )
    await conn.execute(
        "INSERT INTO deliveries (message_id, contact_id, workspace_id, status, reason, subject,"
        " body, import_id, changed_at, created_at, delivered_at, attempts, claimed_until,"
        " message_version)"
        " SELECT message_id, $2, workspace_id, status, reason, subject, body, import_id,"
        " changed_at, created_at, delivered_at, attempts, claimed_until, message_version"
        " FROM deliveries"
        " WHERE contact_id = $1 ON CONFLICT DO NOTHING",
        from_id,
        into_id,
    )
    for table in ("events", "deliveries"):
        await conn.execute(f"DELETE FROM {table} WHERE contact_id = $1", from_id)


async def delete_contacts(conn: asyncpg.Connection, workspace_id: str, ids: Sequence[str]) -> None:
    """Delete contacts with their events and deliveries (bumps the workspace's people_version;
    the caller holds the workspace lock)."""
    if not ids:
        return
    await conn.execute(
        "UPDATE workspaces SET people_version = people_version + 1 WHERE id = $1", workspace_id
    )
    for table in ("events", "deliveries"):
        await conn.execute(f"DELETE FROM {table} WHERE contact_id = ANY($1::text[])", list(ids))
    await conn.execute(
        "DELETE FROM contacts WHERE workspace_id = $1 AND id = ANY($2::text[])",
        workspace_id,
        list(ids),
    )


async def attribute_types(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str
) -> dict[str, str]:
    """Every custom attribute of the workspace (as stored) with its fixed type."""
    rows = await conn.fetch(
        "SELECT name, type FROM attributes WHERE workspace_id = $1", workspace_id
    )
    return {r["name"]: r["type"] for r in rows}


async def ensure_attributes(
    conn: asyncpg.Connection, workspace_id: str, inferred: Mapping[str, str]
) -> dict[str, tuple[str, str]]:
    """Register attributes not seen before with their inferred types (the first type wins).

    Returns, for each requested name, ``(the workspace's spelling, its fixed type)``.
    """
    if not inferred:
        return {}
    names = list(inferred)
    await conn.execute(
        "INSERT INTO attributes (workspace_id, name, type)"
        " SELECT $1, n, t FROM unnest($2::text[], $3::text[]) AS x(n, t)"
        " ON CONFLICT DO NOTHING",
        workspace_id,
        names,
        [inferred[n] for n in names],
    )
    return await existing_attributes(conn, workspace_id, inferred)


async def existing_attributes(
    conn: asyncpg.Connection, workspace_id: str, inferred: Mapping[str, str]
) -> dict[str, tuple[str, str]]:
    """:func:`ensure_attributes` without registering anything (a dry run): the workspace's
    spelling and type of those that exist, the name and inferred type of the others."""
    rows = await conn.fetch(
        "SELECT name, name_lower, type FROM attributes"
        " WHERE workspace_id = $1 AND name_lower = ANY($2::text[])",
        workspace_id,
        [fold(n) for n in inferred],
    )
    by_lower: dict[str, Any] = {r["name_lower"]: r for r in rows}
    out: dict[str, tuple[str, str]] = {}
    for name, type_ in inferred.items():
        found = by_lower.get(fold(name))
        out[name] = (found["name"], found["type"]) if found is not None else (name, type_)
    return out


async def load_tags(
    conn: asyncpg.Connection, workspace_id: str, names: Iterable[str]
) -> dict[str, str]:
    """The workspace's spelling of each of ``names`` that it knows, keyed by lower-case name."""
    folded = sorted({fold(n) for n in set(names)})
    if not folded:  # (most single writes: no round trip for nothing)
        return {}
    rows = await conn.fetch(
        "SELECT name_lower, name FROM tags"
        " WHERE workspace_id = $1 AND name_lower = ANY($2::text[])",
        workspace_id,
        folded,
    )
    return {r["name_lower"]: r["name"] for r in rows}


class TagSpelling:
    """Maps a tag name to the workspace's spelling of it (the first spelling wins,
    case-insensitively) and remembers the names the batch adds (``fresh``)."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.fresh: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        key = fold(name)
        spelling = self.known.get(key)
        if spelling is None:
            spelling = self.known[key] = self.fresh[key] = name
        return spelling


async def tag_spelling(
    conn: asyncpg.Connection, workspace_id: str, names: Iterable[str]
) -> TagSpelling:
    return TagSpelling(await load_tags(conn, workspace_id, names))


async def save_tags(conn: asyncpg.Connection, workspace_id: str, names: Iterable[str]) -> None:
    await conn.execute(
        "INSERT INTO tags (workspace_id, name) SELECT $1, unnest($2::text[])"
        " ON CONFLICT DO NOTHING",
        workspace_id,
        list(names),
    )


def _row(workspace_id: str, c: Contact) -> tuple[Any, ...]:
    return (
        c.id,
        workspace_id,
        c.role,
        c.user_id,
        c.email,
        c.name,
        c.phone,
        c.signed_up_at,
        c.last_seen_at,
        c.last_seen_ip,
        c.tags,
        c.custom,
        c.created_at,
        c.updated_at,
    )


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def contact_rows(
    workspace_id: str, contacts: Iterable[Contact], created: Iterable[State] = ()
) -> Rows:
    """The rows :func:`write_rows` writes: ``(new contacts, changed contacts)``, taken now (the
    contacts may change afterwards without affecting them); ``created``: new contacts as
    states (shared.identity.State, Contact's fields in order)."""
    new: list[tuple[Any, ...]] = [(s[0], workspace_id, *s[1:]) for s in created]
    changed: list[tuple[Any, ...]] = []
    for c in contacts:
        (new if c.is_new else changed).append(_row(workspace_id, c))
    return new, changed


async def write_contacts(
    conn: asyncpg.Connection, workspace_id: str, contacts: Iterable[Contact]
) -> int:
    """Insert the new contacts and overwrite the changed ones; see :func:`write_rows`."""
    return await write_rows(conn, workspace_id, contact_rows(workspace_id, contacts))


# Up to this many rows go as one pipelined statement each (one round trip: asyncpg's
# executemany) rather than through COPY (two, and a stage table's two more for updates): the
# single writes of the API and the vendor routes are a few rows at a time.
SMALL_WRITE = 32

_INSERT = (
    f"INSERT INTO contacts ({', '.join(CONTACT_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(CONTACT_COLUMNS) + 1))})"
)
# What an update sets (every column but the id, the workspace and created_at), from the stage
# table or, for a few rows, from each row's own parameters.
_UPDATED = tuple(c for c in CONTACT_COLUMNS if c not in ("id", "workspace_id", "created_at"))
_UPDATED_AT = tuple(CONTACT_COLUMNS.index(c) for c in ("id", *_UPDATED))  # in a row of _row
_UPDATE_ONE = (
    "UPDATE contacts c SET "
    + ", ".join(f"{col} = ${i}" for i, col in enumerate(_UPDATED, 2))
    + ", version = c.version + 1 WHERE c.id = $1"
)
_UPDATE_FROM_STAGE = (
    "UPDATE contacts c SET "
    + ", ".join(f"{col} = s.{col}" for col in _UPDATED)
    + ", version = c.version + 1 FROM contact_stage s WHERE c.id = s.id"
)


_encode = pgcopy.encoder([type_ for _, type_ in _CONTACT])


async def copy_contacts(
    conn: asyncpg.Connection,
    table: str,
    rows: Iterable[tuple[Any, ...]],
    *,
    schema_name: str | None = None,
) -> None:
    """``COPY`` rows of :func:`_row` into ``table`` (contacts or a table like it)."""
    await pgcopy.copy_rows(conn, table, CONTACT_COLUMNS, _encode, rows, schema_name=schema_name)


async def write_rows(conn: asyncpg.Connection, workspace_id: str, rows: Rows) -> int:
    """Insert the new contacts and overwrite the changed ones: set-based statements (COPY), or
    for a few rows one pipelined statement each. Returns the workspace's new
    ``people_version`` (every writer of people comes here)."""
    version: int = await conn.fetchval(
        "UPDATE workspaces SET people_version = people_version + 1 WHERE id = $1"
        " RETURNING people_version",
        workspace_id,
    )
    new, changed = rows
    if len(new) > SMALL_WRITE:
        await copy_contacts(conn, "contacts", new)
    elif new:
        await conn.executemany(_INSERT, new)
    if len(changed) > SMALL_WRITE:
        # The stage holds this write's rows only: a transaction may write twice (records one
        # by one in savepoints, an API request of several runs), and rows left from the first
        # write would overwrite the second's with their older state.
        # (DELETE, not TRUNCATE: the stage is nearly always empty, and TRUNCATE gives the
        # table a new file and catalog row each time — 4–10 ms a chunk on the merger's tail.)
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS contact_stage"
            " (LIKE contacts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;"
            " DELETE FROM contact_stage"
        )
        await copy_contacts(conn, "contact_stage", changed)
        await conn.execute(_UPDATE_FROM_STAGE)
    elif changed:
        await conn.executemany(_UPDATE_ONE, [tuple(row[i] for i in _UPDATED_AT) for row in changed])
    return version


async def next_outbox_id(conn: asyncpg.Connection) -> int:
    """Reserve the id of an outbox row, so the event can carry it."""
    value: int = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('outbox', 'id'))")
    return value


async def add_outbox(
    conn: asyncpg.Connection, outbox_id: int, topic: str, key: bytes, payload: bytes
) -> None:
    """Record an event to publish after commit. The messenger deletes the row once processed."""
    await conn.execute(
        "INSERT INTO outbox (id, topic, key, payload) VALUES ($1, $2, $3, $4)",
        outbox_id,
        topic,
        key,
        payload,
    )
