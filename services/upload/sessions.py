"""Browser sessions: the web UI exchanges the workspace token once for a cookie.

``POST /api/session {"token"}`` checks the token as the guard checks any (the failure rate
limit included) and sets ``usher_session``: 32 random bytes, HttpOnly (no script can read it),
``SameSite=Strict`` (no other site's page makes the browser send it), ``Path=/api``, ``Secure``
over HTTPS, with no expiry of its own (it ends with the browser session) and at most
:data:`LIFETIME` on the server. So a sign-in lasts across the browser's tabs, and the token
itself is kept nowhere in the browser.

Every ``/api`` request without an ``Authorization`` header may carry the cookie instead; the
guard looks it up (only its SHA-256 is stored). A request that changes something
(not GET/HEAD/OPTIONS) must also send the session's CSRF value in ``X-Usher-CSRF`` — a value
only the UI's own pages get, from the sign-in answer or ``GET /api/session`` — else 403: the
double check behind SameSite, for browsers that do not honour it. API clients go on sending
``Authorization: Bearer <token>`` and never see any of this.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie

import asyncpg

from services.upload import repository as repo
from services.upload.auth import Limits, Workspace
from services.upload.errors import ApiError

COOKIE = "usher_session"
CSRF_HEADER = "X-Usher-CSRF"
LIFETIME = timedelta(hours=12)  # at most, from sign-in; the cookie also ends with the browser
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def open_session(pool: asyncpg.Pool, workspace_id: str) -> tuple[str, str, datetime]:
    """A new session of the workspace: (cookie value, CSRF value, when it expires)."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + LIFETIME
    async with pool.acquire() as conn:
        await repo.prune_sessions(conn)
        await repo.insert_session(conn, _hash(cookie), workspace_id, csrf, expires)
    return cookie, csrf, expires


async def close_session(pool: asyncpg.Pool, cookie: str) -> None:
    await repo.delete_session(pool, _hash(cookie))


def cookie_of(header: bytes) -> str | None:
    """The session cookie's value in a ``Cookie`` header, if there is one."""
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def ended() -> ApiError:
    return ApiError(
        401, "unauthorized", "your session has ended (or you signed out): sign in again"
    )


async def workspace_of(
    pool: asyncpg.Pool, limits: Limits, client: str, cookie: str
) -> tuple[Workspace, str]:
    """The workspace and CSRF value of a live session, or ApiError: 401 for an unknown or
    expired cookie (counted against the client, as a wrong token is), 429 past the limits."""
    limits.failures.check_left(client)
    row = await repo.session_by_hash(pool, _hash(cookie))
    if row is None:
        limits.failures.spend(client)
        raise ended()
    limits.per_token.check(row["id"])
    return Workspace(row["id"], row["name"], row["webhook_secret"]), row["csrf"]


def check_csrf(method: str, sent: str, expected: str) -> None:
    """403 unless a request that changes something echoes the session's CSRF value."""
    if method in SAFE_METHODS:
        return
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(
            403,
            "csrf",
            f"the request does not carry this session's {CSRF_HEADER} header: reload the page"
            " and try again",
        )
