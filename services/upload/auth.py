"""Bearer-token authentication and the per-token rate limit."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.upload.errors import ApiError
from shared.settings import Settings


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    webhook_secret: str


def hash_token(token: str) -> str:
    """Tokens are stored as their SHA-256: a leaked table does not leak tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "missing token: send 'Authorization: Bearer <workspace token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


class RateLimiter:
    """A token bucket per token: ``per_minute`` requests a minute, bursts up to that many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.buckets: dict[str, tuple[float, float]] = {}

    def check(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        rate = self.per_minute / 60.0
        tokens, last = self.buckets.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            retry = max(1, int((1.0 - tokens) / rate + 0.999))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests: at most {self.per_minute} a minute per token;"
                f" retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        self.buckets[key] = (tokens - 1.0, now)
        if len(self.buckets) > 100_000:
            self.buckets.clear()


async def current_workspace(request: Request) -> Workspace:
    token = _bearer(request)
    digest = hash_token(token)
    request.app.state.limiter.check(digest)
    row = await request.app.state.pool.fetchrow(
        "SELECT id, name, webhook_secret FROM workspaces WHERE token_hash = $1", digest
    )
    if row is None:
        raise ApiError(
            401,
            "unauthorized",
            "invalid token: use the token returned when the workspace was created",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Workspace(row["id"], row["name"], row["webhook_secret"])


async def admin(request: Request) -> None:
    token = _bearer(request)
    settings: Settings = request.app.state.settings
    expected = settings.admin_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "invalid admin token (USHER_ADMIN_TOKEN)")


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]
AdminOnly = Depends(admin)
