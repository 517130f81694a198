"""Opaque cursors for ``{"data": [...], "next_cursor": ...}`` lists."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from services.upload.errors import invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def decode_cursor(cursor: str | None, parts: int = 0) -> Any:
    """The key a cursor holds: a string, or a list of ``parts`` values when ``parts`` is given.

    Anything else (a forged or truncated cursor) is a 422, never an error deeper down.
    """
    if not cursor:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    if parts:
        ok = (
            isinstance(value, list)
            and len(value) == parts
            and all(isinstance(v, str) for v in value)
        )
    else:
        ok = isinstance(value, str)
    if not ok:
        raise invalid("cursor is not valid: pass next_cursor from the previous page")
    return value


def page(items: list[Any], limit: int, key: Any) -> dict[str, Any]:
    """``items`` were fetched with ``limit + 1``: the extra one says there is a next page."""
    more = len(items) > limit
    items = items[:limit]
    return {"data": items, "next_cursor": encode_cursor(key(items[-1])) if more else None}
