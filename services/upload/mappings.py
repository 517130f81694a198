"""Remembered mappings (SPEC §6.5): an upload whose header set was started before in its
workspace gets that import's mapping, custom attributes and options.

A header set is compared trimmed and case-insensitively, in any order (:func:`header_key`).
What is remembered names the earlier file's columns; :func:`translate` names the same columns
as the new upload spells them. The last import started (or dry-run) with a header set wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.ids import new_id

# The options of an import that come back with its mapping (SPEC §6.5).
REMEMBERED_OPTIONS = ("kind", "blank_values", "date_order", "default_country")
_COLUMNS = (
    "id, columns, mapping, custom_attributes, attribute_types, options, import_id, file_name,"
    " used_at, created_at"
)


def _fold(column: str) -> str:
    return column.strip().casefold()


def header_key(columns: Sequence[str]) -> str:
    """The header set of an upload: its column names trimmed, case-folded, sorted, unique."""
    return "\x1f".join(sorted({_fold(c) for c in columns}))


def _spelled(columns: Sequence[str]) -> dict[str, str]:
    spelled: dict[str, str] = {}
    for column in columns:
        spelled.setdefault(_fold(column), column)  # the first of two that fold alike
    return spelled


def translate(stored: Mapping[str, str], columns: Sequence[str]) -> dict[str, str]:
    """A mapping ``stored`` ({field: earlier column}) with each column as ``columns`` spell
    it; a column the upload lacks is left out."""
    spelled = _spelled(columns)
    return {k: spelled[_fold(c)] for k, c in stored.items() if _fold(c) in spelled}


def translate_columns(stored: Mapping[str, str], columns: Sequence[str]) -> dict[str, str]:
    """Custom attributes ``stored`` ({earlier column: name}) keyed by the columns as
    ``columns`` spell them; a column the upload lacks is left out."""
    spelled = _spelled(columns)
    return {spelled[_fold(c)]: n for c, n in stored.items() if _fold(c) in spelled}


def remembered_answer(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """What an upload's answer says of the remembered mapping ``row`` it got."""
    custom = translate_columns(row["custom_attributes"], columns)
    return {
        "id": row["id"],
        "import_id": row["import_id"],
        "file_name": row["file_name"],
        "used_at": row["used_at"].isoformat(),
        "custom_attributes": custom,
        "attribute_types": {
            name: type_ for name, type_ in row["attribute_types"].items() if name in custom.values()
        },
        "options": {k: row["options"].get(k) for k in REMEMBERED_OPTIONS},
    }


async def find(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, columns: Sequence[str]
) -> asyncpg.Record | None:
    """The workspace's remembered mapping for this header set, if any."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM mappings WHERE workspace_id = $1 AND header_key = $2",
        workspace_id,
        header_key(columns),
    )


async def remember(
    conn: asyncpg.Connection,
    workspace_id: str,
    *,
    import_id: str,
    file_name: str | None,
    columns: Sequence[str],
    options: Mapping[str, Any],
    attribute_types: Mapping[str, str],
) -> None:
    """Keep what an import was started with for its header set (replacing an earlier one)."""
    await conn.execute(
        "INSERT INTO mappings (id, workspace_id, header_key, columns, mapping,"
        " custom_attributes, attribute_types, options, import_id, file_name)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (workspace_id, header_key) DO UPDATE SET columns = EXCLUDED.columns,"
        " mapping = EXCLUDED.mapping, custom_attributes = EXCLUDED.custom_attributes,"
        " attribute_types = EXCLUDED.attribute_types, options = EXCLUDED.options,"
        " import_id = EXCLUDED.import_id, file_name = EXCLUDED.file_name, used_at = now()",
        new_id("map_"),
        workspace_id,
        header_key(columns),
        list(columns),
        dict(options.get("mapping") or {}),
        dict(options.get("custom_attributes") or {}),
        dict(attribute_types),
        {k: options.get(k) for k in REMEMBERED_OPTIONS},
        import_id,
        file_name,
    )


async def page(
    pool: asyncpg.Pool, workspace_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[asyncpg.Record]:
    """The workspace's remembered mappings, oldest first."""
    if after is None:
        return await pool.fetch(
            f"SELECT {_COLUMNS} FROM mappings WHERE workspace_id = $1"
            " ORDER BY created_at, id LIMIT $2",
            workspace_id,
            limit,
        )
    return await pool.fetch(
        f"SELECT {_COLUMNS} FROM mappings WHERE workspace_id = $1"
        " AND (created_at, id) > ($3::timestamptz, $4) ORDER BY created_at, id LIMIT $2",
        workspace_id,
        limit,
        after[0],
        after[1],
    )


async def forget(pool: asyncpg.Pool, workspace_id: str, mapping_id: str) -> bool:
    """Delete one; False when the workspace has no such mapping."""
    done = await pool.execute(
        "DELETE FROM mappings WHERE workspace_id = $1 AND id = $2", workspace_id, mapping_id
    )
    return bool(done != "DELETE 0")
