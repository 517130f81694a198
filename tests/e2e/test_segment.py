"""Segment's official library (segment-analytics-python), unmodified, pointed at Usher's
``/segment`` base URL (SPEC §7, issue 18): identifies and tracks in batches, retries with the
same messageIds, gzip, the write key, per-message problems, live messages, history entries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from segment.analytics import Client

from tests.support.api import Api


def segment_client(base_url: str, token: str, **options: Any) -> Client:
    errors: list[Any] = []
    client = Client(
        token,
        host=f"{base_url}/segment",
        on_error=lambda exc, batch: errors.append((exc, batch)),
        max_retries=3,
        **options,
    )
    client.errors = errors  # type: ignore[attr-defined]
    return client


@pytest.fixture
def api(services) -> Api:
    return Api.new_workspace(services.base_url, "segment")


def test_identify_and_track_in_batches(services, api: Api) -> None:
    client = segment_client(services.base_url, api.token)
    for i in range(250):  # 3 POSTs: 100, 100, 50
        client.identify(
            f"u-{i}",
            {"email": f"p{i}@example.com", "firstName": "Ada", "lastName": f"N{i}", "plan": "pro"},
        )
    client.identify(anonymous_id="anon-1", traits={"email": "visitor@example.com", "name": "V"})
    client.track(
        "u-1",
        "Order Completed",
        {"order_id": "o-9", "revenue": 12.5},
        timestamp=datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC),
    )
    client.alias("anon-1", "u-1")
    client.page("u-1", "Docs", "Install")
    client.flush()
    assert client.errors == []
    people = api.all_users()
    assert len(people) == 251
    [ada] = api.all_users(user_id="u-1")
    assert (ada["email"], ada["name"], ada["role"]) == ("p1@example.com", "Ada N1", "user")
    assert ada["custom_attributes"] == {"plan": "pro"}
    [visitor] = api.all_users(email="visitor@example.com")
    assert (visitor["role"], visitor["user_id"], visitor["name"]) == ("lead", None, "V")
    [event] = api.pages(f"/api/users/{ada['id']}/events")
    assert event["event_name"] == "order completed"
    assert event["created_at"].startswith("2024-05-29T16:26")  # a backfill keeps its date
    assert event["metadata"] == {"order_id": "o-9", "revenue": 12.5}
    entry = api.day_entry("segment")
    assert entry is not None and entry["status"] == "completed"
    assert entry["file_name"].startswith("Segment ")
    assert {k: entry["counts"][k] for k in ("created", "updated", "failed")} == {
        "created": 251,
        "updated": 0,
        "failed": 0,
    }
    log = api.pages("/api/ingestion", source="segment")
    assert len(log) == 254  # 251 identifies, a track, an alias, a page
    assert {m["outcome"] for m in log} == {"created", "stored", "ignored"}
    refused = api.request("POST", f"/api/imports/{entry['id']}/undo")
    assert refused.status_code == 409 and "keeps no diff" in refused.text


def test_a_retried_batch_is_applied_once(services, api: Api) -> None:
    """The first POST reaches Usher but its answer is lost (a proxy answers 503 instead): the
    library sends the same batch again, with the same messageIds."""
    seen: list[int] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = httpx.post(
                f"{services.base_url}{self.path}", content=body, headers=headers, timeout=30
            )
            seen.append(answer.status_code)
            status = 503 if len(seen) == 1 else answer.status_code
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        client = segment_client(f"http://127.0.0.1:{proxy.server_port}", api.token)
        for i in range(20):
            client.identify(f"r-{i}", {"email": f"r{i}@example.com", "visits": 1})
        client.track("r-0", "Signed In")
        client.flush()
    finally:
        proxy.shutdown()
    assert seen == [200, 200]  # the same batch twice, both applied by Usher's rules
    assert client.errors == []
    assert len(api.all_users()) == 20
    [person] = api.all_users(user_id="r-0")
    assert len(api.pages(f"/api/users/{person['id']}/events")) == 1
    entry = api.day_entry("segment")
    assert entry is not None and entry["counts"]["created"] == 20  # not 40


def test_a_message_id_seen_before_is_skipped_and_gzip_is_read(services, api: Api) -> None:
    client = segment_client(services.base_url, api.token, gzip=True, sync_mode=True)
    client.identify("d-1", {"email": "d1@example.com", "plan": "free"}, message_id="fixed-1")
    client.identify("d-1", {"email": "d1@example.com", "plan": "pro"}, message_id="fixed-1")
    [person] = api.all_users(user_id="d-1")
    assert person["custom_attributes"] == {"plan": "free"}


def test_the_write_key(services, api: Api) -> None:
    wrong = segment_client(services.base_url, "not-a-token")
    wrong.identify("x", {"email": "x@example.com"})
    wrong.flush()
    assert len(wrong.errors) == 1 and "401" in str(wrong.errors[0][0])
    # Plain HTTP users may send the key in the body instead of Basic auth.
    body = {
        "writeKey": api.token,
        "batch": [{"type": "identify", "userId": "w-1", "traits": {"email": "w1@example.com"}}],
    }
    sent = httpx.post(f"{services.base_url}/segment/v1/batch", json=body)
    assert sent.status_code == 200 and sent.json() == {"success": True}
    single = httpx.post(
        f"{services.base_url}/segment/v1/identify",
        json={"writeKey": api.token, "userId": "w-2", "traits": {"email": "w2@example.com"}},
    )
    assert single.status_code == 200
    assert {p["user_id"] for p in api.all_users()} == {"w-1", "w-2"}
    bad = httpx.post(
        f"{services.base_url}/segment/v1/batch", json={"writeKey": "nope", "batch": []}
    )
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"
    junk = httpx.post(
        f"{services.base_url}/segment/v1/batch", content=b"{not json", auth=(api.token, "")
    )
    assert junk.status_code == 400 and "not valid JSON" in junk.json()["message"]


def test_problems_are_listed_per_message(services, api: Api) -> None:
    client = segment_client(services.base_url, api.token)
    client.identify("ok-1", {"email": "ok1@example.com", "seats": 3})
    client.identify(anonymous_id="anon-2", traits={"plan": "pro"})  # no email: nobody
    client.identify("ok-2", {"email": "ok2@example.com", "seats": "many", "phone": "12"})
    client.track("nobody", "Clicked")
    client.flush()
    problems = {
        p["type"] + ":" + p["outcome"]: p["problems"]
        for p in api.pages("/api/ingestion-errors", source="segment")
    }
    assert problems["identify:failed"] == [
        "an identify without userId needs traits.email: the person is then a lead"
    ]
    assert problems["track:failed"] == ["no person with user_id 'nobody'"]
    warned = problems["identify:created"]  # ok-2 is created without the values that fail
    assert sorted(warned) == [
        "left out: custom attribute 'seats' is integer: 'many' is not a whole number",
        "left out: phone: '12' has no country calling code: write it as +44… (or 0044…) with"
        " its own country code, or set default_country",
    ]
    entry = api.day_entry("segment")
    assert entry is not None
    assert (entry["counts"]["created"], entry["counts"]["failed"]) == (2, 1)


def test_an_identify_triggers_a_live_message(services, api: Api) -> None:
    message = api.pro_message()
    client = segment_client(services.base_url, api.token)
    client.identify("m-1", {"email": "m1@example.com", "name": "Mo", "plan": "free"})
    client.identify("m-1", {"plan": "pro"})
    client.identify("m-1", {"plan": "pro", "seats": 2})
    client.flush()
    deliveries = Api.wait_for(
        lambda: len(api.pages(f"/api/messages/{message['id']}/deliveries")), 1, timeout_s=30
    )
    assert deliveries == 1
    time.sleep(1)
    assert len(api.pages(f"/api/messages/{message['id']}/deliveries")) == 1  # once
