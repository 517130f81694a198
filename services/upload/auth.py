"""Who is calling: bearer tokens, and the rate limits that hold before and after the look-up.

Authentication happens in :mod:`services.upload.guard`, before the request body is read: a
request with a wrong token costs one indexed look-up and nothing else. The route dependencies
here only read what the guard found.

Rate limits are token buckets (``per_minute`` a minute, bursts up to that many):

* per client address, on every request, before any token is looked up;
* per client address, on authentication failures (wrong workspace tokens, admin-token guesses):
  a client out of failures gets 429 before its next token is even looked up;
* per workspace token, once the token is known to be valid.

Buckets are kept for the keys seen recently. A bucket left alone for a minute is full again,
exactly as a new one would be, so it is forgotten first; only valid tokens and client addresses
make buckets, so random tokens cannot push a tenant's bucket out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from services.upload import repository as repo
from services.upload.errors import ApiError
from shared.settings import Settings

MAX_BUCKETS = 100_000


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    webhook_secret: str


def hash_token(token: str) -> str:
    """Tokens are stored as their SHA-256: a leaked table does not leak tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(authorization: str, what: str = "workspace token") -> str:
    """The token of an ``Authorization: Bearer <token>`` header; 401 naming ``what`` else."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            f"missing token: send 'Authorization: Bearer <{what}>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def basic_key(authorization: str) -> str | None:
    """The key of ``Authorization: Basic base64(<key>:)`` (Segment's write key), or None."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, _, _password = decoded.partition(":")
    return key or None


# The workspaces of tokens found (token hash -> the pool's id and the workspace): a workspace's
# token, name and webhook secret never change once it is made (nothing rotates or renames), so
# a token found stays good. Wrong tokens are not remembered: each still costs its look-up (and
# counts against its client). Single writes spent ~10 % of the event loop on this query.
_known: dict[str, tuple[int, Workspace]] = {}
MAX_KNOWN = 10_000


async def find_workspace(pool: asyncpg.Pool, token: str) -> Workspace | None:
    digest = hash_token(token)
    known = _known.get(digest)
    if known is not None and known[0] == id(pool):
        return known[1]
    row = await repo.workspace_by_token(pool, digest)
    if row is None:
        return None
    if len(_known) >= MAX_KNOWN:
        _known.clear()
    workspace = Workspace(row["id"], row["name"], row["webhook_secret"])
    _known[digest] = (id(pool), workspace)
    return workspace


async def workspace_of(pool: asyncpg.Pool, limits: Limits, client: str, token: str) -> Workspace:
    """The workspace of ``token``, or ApiError: 429 for a client that sent too many wrong
    tokens (checked before the lookup), 401 for a wrong one (counted against the client), 429
    past the token's own rate limit. The guard's check of every token, and Segment's route's of
    a write key sent in the body."""
    limits.failures.check_left(client)
    workspace = await find_workspace(pool, token)
    if workspace is None:
        limits.failures.spend(client)
        raise invalid_token()
    limits.per_token.check(workspace.id)
    return workspace


def invalid_token() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "invalid token: use the token returned when the workspace was created",
        headers={"WWW-Authenticate": "Bearer"},
    )


def check_admin(settings: Settings, token: str) -> None:
    """401 unless ``token`` is ``USHER_ADMIN_TOKEN`` (compared in constant time)."""
    expected = settings.admin_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "invalid admin token (USHER_ADMIN_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


class RateLimiter:
    """A token bucket per key; ``what`` names the key in the 429 message."""

    def __init__(self, per_minute: int, what: str, max_keys: int = MAX_BUCKETS) -> None:
        self.per_minute = per_minute
        self.what = what
        self.max_keys = max_keys
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self.buckets.get(key, (float(self.per_minute), now))
        return min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60.0)

    def check(self, key: str) -> None:
        """Take one request from ``key``'s bucket; 429 with ``Retry-After`` when it is empty."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            self.buckets.move_to_end(key)  # a key being refused is in use: kept longest
            raise self._limited(tokens)
        self._store(key, tokens - 1.0, now)

    def check_left(self, key: str) -> None:
        """429 when ``key``'s bucket is empty, without taking from it."""
        if self.per_minute > 0 and (tokens := self._tokens(key, time.monotonic())) < 1.0:
            raise self._limited(tokens)

    def spend(self, key: str) -> None:
        """Take one from ``key``'s bucket, whatever is left (an authentication failure)."""
        if self.per_minute > 0:
            now = time.monotonic()
            self._store(key, max(0.0, self._tokens(key, now) - 1.0), now)

    def _limited(self, tokens: float) -> ApiError:
        retry = max(1, int((1.0 - tokens) * 60.0 / self.per_minute + 0.999))
        return ApiError(
            429,
            "rate_limited",
            f"too many requests: at most {self.per_minute} a minute {self.what};"
            f" retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )

    def _store(self, key: str, tokens: float, now: float) -> None:
        self.buckets[key] = (tokens, now)
        self.buckets.move_to_end(key)
        while len(self.buckets) > self.max_keys:
            # The least recently used bucket: full again if idle a minute (nothing is lost by
            # forgetting it); else more than max_keys keys are active and the oldest goes.
            self.buckets.popitem(last=False)


@dataclass
class Limits:
    """The upload service's rate limiters (one set per process)."""

    per_address: RateLimiter
    failures: RateLimiter
    per_token: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            RateLimiter(settings.rate_limit_per_ip_per_minute, "per client address"),
            RateLimiter(settings.auth_failures_per_minute, "with a wrong token per client address"),
            RateLimiter(settings.rate_limit_per_minute, "per token"),
        )


async def current_workspace(request: Request) -> Workspace:
    """The workspace the guard authenticated (services.upload.guard)."""
    workspace = getattr(request.state, "workspace", None)
    if not isinstance(workspace, Workspace):  # a route the guard did not cover: never open
        raise invalid_token()
    return workspace


async def admin(request: Request) -> None:
    """The guard checked the admin token; this refuses a route it did not cover."""
    if getattr(request.state, "admin", False) is not True:
        raise ApiError(401, "unauthorized", "invalid admin token (USHER_ADMIN_TOKEN)")


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]
AdminOnly = Depends(admin)
