"""Opaque, signed cursors for ``{"data": [...], "next_cursor": ...}`` lists (SPEC §1).

A cursor is the key of the last item of a page — an id, a row number, or a timestamp and an id —
as base64url JSON followed by an HMAC of it (``<payload>.<mac>``), keyed from
``USHER_SECRET_KEY``. A cursor Usher did not make (forged, truncated, from an older key) is a
422 that says to pass ``next_cursor`` on; it never reaches a query. Routes take their paging as
a dependency: ``paging: Annotated[Paging, Depends(pages("pair"))]``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Query, Request

from services.upload.errors import invalid
from shared.settings import Settings

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
Shape = Literal["text", "int", "pair"]  # an id; a row number; [timestamp, id]
INVALID = "cursor is not valid: pass next_cursor from the previous page"


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    """Makes and checks cursors with one key (one per deployment: every upload process with
    the same ``USHER_SECRET_KEY`` accepts the others' cursors)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> Cursors:
        seed = settings.secret_key or secrets.token_hex(32)  # without one: per process
        return cls(hashlib.sha256(b"usher-cursor:" + seed.encode()).digest())

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest()[:16])

    def encode(self, value: Any) -> str:
        payload = _b64(orjson.dumps(value))
        return f"{payload}.{self._mac(payload)}"

    def decode(self, cursor: str, shape: Shape) -> Any:
        """The key a cursor holds, checked for its shape: ``str``, ``int`` or
        ``(datetime, str)``. Anything else is a 422."""
        payload, _, mac = cursor.partition(".")
        if not mac or not cursor.isascii() or not hmac.compare_digest(mac, self._mac(payload)):
            raise invalid(INVALID)
        try:
            value = orjson.loads(_unb64(payload))
            if shape == "text" and isinstance(value, str):
                return value
            if shape == "int" and isinstance(value, int) and not isinstance(value, bool):
                return value
            if shape == "pair" and isinstance(value, list) and len(value) == 2:
                when, key = value
                if isinstance(when, str) and isinstance(key, str):
                    return datetime.fromisoformat(when), key
        except (ValueError, orjson.JSONDecodeError):
            pass
        raise invalid(INVALID)


@dataclass(frozen=True)
class Paging:
    """One request's page: its size and where it starts (None: at the beginning)."""

    limit: int
    after: Any
    cursors: Cursors

    def page(self, items: list[Any], key: Callable[[Any], Any]) -> dict[str, Any]:
        """``items`` were fetched with ``limit + 1``: the extra one says there is a next page,
        whose cursor holds ``key`` of this page's last item."""
        more = len(items) > self.limit
        items = items[: self.limit]
        return {
            "data": items,
            "next_cursor": self.cursors.encode(_plain(key(items[-1]))) if more else None,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value


def pages(shape: Shape) -> Callable[..., Any]:
    """The dependency that reads ``limit`` and ``cursor`` for a list keyed by ``shape``."""

    async def paging(
        request: Request,
        limit: Annotated[int | None, Query()] = None,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> Paging:
        cursors: Cursors = request.app.state.cursors
        after = cursors.decode(cursor, shape) if cursor else None
        return Paging(check_limit(limit), after, cursors)

    return paging
