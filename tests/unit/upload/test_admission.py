"""The upload service's pure pieces of admission: rate-limit buckets, the route table, cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.upload.auth import RateLimiter
from services.upload.errors import ApiError
from services.upload.guard import rule_for
from services.upload.pagination import Cursors
from shared.settings import Settings


def test_a_bucket_runs_out_and_says_when_to_retry() -> None:
    limiter = RateLimiter(3, "per token")
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(ApiError) as caught:
        limiter.check("a")
    assert caught.value.status == 429
    assert caught.value.headers == {"Retry-After": "20"}
    assert "at most 3 a minute per token" in caught.value.message
    limiter.check("b")  # another key has its own bucket


def test_failures_are_spent_without_a_request_and_checked_without_spending() -> None:
    limiter = RateLimiter(2, "with a wrong token per client address")
    limiter.check_left("client")  # nothing spent yet
    limiter.spend("client")
    limiter.spend("client")
    limiter.spend("client")  # spending past empty keeps it empty, never negative
    with pytest.raises(ApiError):
        limiter.check_left("client")


def test_old_buckets_are_evicted_not_cleared() -> None:
    """Past ``max_keys`` the least recently used bucket goes (one idle a minute is full again,
    as a new one would be); a tenant in use keeps its bucket, however many keys flood in (the
    old code cleared every bucket past 100,000 keys)."""
    limiter = RateLimiter(2, "per token", max_keys=100)
    limiter.check("tenant")
    limiter.check("tenant")  # empty now
    for i in range(98):
        limiter.check(f"flood-{i}")
    with pytest.raises(ApiError):
        limiter.check("tenant")  # refused, and so the most recently used bucket
    for i in range(98, 110):
        limiter.check(f"flood-{i}")
    assert len(limiter.buckets) == 100
    assert "flood-0" not in limiter.buckets and "flood-109" in limiter.buckets
    with pytest.raises(ApiError):
        limiter.check("tenant")


def test_zero_turns_a_limit_off() -> None:
    limiter = RateLimiter(0, "per token")
    for _ in range(1000):
        limiter.check("a")
    assert limiter.buckets == {}


def test_every_route_has_its_body_limit_and_its_authentication() -> None:
    settings = Settings(max_upload_bytes=10_000_000, max_json_bytes=5_000_000)
    table = {
        ("POST", "/api/workspaces"): ("admin", settings.max_request_bytes),
        ("POST", "/api/imports"): ("workspace", 10_000_000 + 64 * 1024),
        ("POST", "/api/imports/imp_1/start"): ("workspace", settings.max_request_bytes),
        ("POST", "/api/users/bulk"): ("workspace", 10_000_000),
        ("POST", "/api/events/bulk"): ("workspace", 5_000_000),
        ("POST", "/api/users"): ("workspace", 1024**2),
        ("GET", "/api/imports"): ("workspace", 1024**2),
        ("GET", "/"): ("none", 1024**2),
        ("GET", "/healthz"): ("none", 1024**2),
        ("GET", "/apiary"): ("none", 1024**2),
    }
    for (method, path), (auth, limit) in table.items():
        rule = rule_for(method, path, settings)
        assert (rule.auth, rule.limit) == (auth, limit), (method, path)


def test_cursors_round_trip_and_refuse_what_usher_did_not_make() -> None:
    cursors = Cursors(b"k" * 32)
    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert cursors.decode(cursors.encode([when.isoformat(), "imp_1"]), "pair") == (when, "imp_1")
    assert cursors.decode(cursors.encode("c_1"), "text") == "c_1"
    assert cursors.decode(cursors.encode(42), "int") == 42
    made = cursors.encode("c_1")
    payload, _, mac = made.partition(".")
    forged = [
        "",
        payload,  # no MAC
        f"{payload}.{mac[:-2]}AA",
        Cursors(b"other-key" * 4).encode("c_1"),  # another deployment's
        cursors.encode("c_1") + "x",
        cursors.encode(["not-a-date", "x"]),  # signed but the wrong shape for a pair
        cursors.encode(True),
        "é.é",  # not even ASCII
    ]
    for cursor in forged:
        for shape in ("text", "pair", "int"):
            with pytest.raises(ApiError) as caught:
                cursors.decode(cursor, shape)  # type: ignore[arg-type]
            assert caught.value.status == 422


async def _guarded(app: Any, messages: list[dict[str, Any]], path: str = "/x") -> list[Any]:
    """Run ``app`` behind the guard with the given incoming messages; what it sent back."""
    import asyncio
    from types import SimpleNamespace

    from services.upload.auth import Limits
    from services.upload.guard import Guard

    settings = Settings(max_request_bytes=1024)
    state = SimpleNamespace(settings=settings, limits=Limits.from_settings(settings))
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [],
        "query_string": b"",
        "client": ("1.2.3.4", 1),
        "app": SimpleNamespace(state=state),
    }
    incoming = list(messages)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(Guard(app)(scope, receive, send), 5)
    return sent


async def test_a_client_that_leaves_cancels_the_work_of_its_request() -> None:
    """Probe H4: a query ran 18 minutes after its client had gone."""
    import asyncio

    cancelled = asyncio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # the body
        try:
            await asyncio.sleep(3600)  # a query that would run for an hour
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await _guarded(slow_app, [{"type": "http.request", "body": b"{}"}, {"type": "http.disconnect"}])
    assert cancelled.is_set()


async def test_a_body_that_grows_past_its_limit_while_streaming_is_413() -> None:
    async def reader(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass

    chunk = {"type": "http.request", "body": b"x" * 600, "more_body": True}
    sent = await _guarded(reader, [chunk, chunk, {"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 413
    assert b"larger than the limit of 1,024 bytes" in sent[1]["body"]
    assert (b"x-frame-options", b"DENY") in sent[0]["headers"]
