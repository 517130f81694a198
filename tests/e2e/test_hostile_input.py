"""One tenant's odd input never stops, starves or doubles anything for anyone (the probe's
findings, each reproduced as it was reported: ../shared/reviews/probe.md).

Every test ends by checking that no service restarted meanwhile: the supervisor's restart count
did not move.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from infra.stack import Stack
from tests.support.api import Api
from tests.support.db import query
from tests.support.env import FAKES_HOST, OFFSET
from tests.support.vendors import FakeMailchimp, Fault, mailchimp_member

MC_KEY = "0123456789abcdef0123456789abcdef-us6"


@pytest.fixture
def steady(services: Stack) -> Iterator[Stack]:
    """The running services; the test fails if any of them restarted during it."""
    before = len(services.restarts)
    yield services
    assert services.restarts[before:] == [], "a service restarted"


def _bulk(api: Api, records: list[Any], **params: Any) -> Any:
    created = api.ok("POST", "/api/users/bulk", 202, json=records, params=params)
    return api.wait(created["id"])


def test_a_nul_in_one_json_record_fails_that_record_only(steady) -> None:
    """C1: 12,000 records, a NUL in record 7,001: 11,999 created, 1 failed with its reason."""
    api = Api.new_workspace(steady.base_url, "nul")
    records: list[Any] = [{"email": f"n{i}@a.example", "name": f"N{i}"} for i in range(12_000)]
    records[7000]["name"] = "bad\u0000name"
    done = _bulk(api, records)
    assert done["status"] == "completed"
    assert done["counts"] == {
        "rows": 12_000,
        "created": 11_999,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }
    report = api.ok("GET", f"/api/imports/{done['id']}/errors", params={"format": "json"})
    assert [e["row"] for e in report["data"]] == [7001]
    assert "name 'bad\\x00name' contains a NUL character" in report["data"][0]["errors"][0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Ann\nSmith", "contains a line break"),
        ("name", "Admin\u202egnp.exe", "text-direction control (U+202E)"),
        ("email", "zw\u200b@a.example", "invisible formatting character (U+200B)"),
        ("tags", ["VIP\r\nGold"], "contains a line break"),
        ("user_id", "u\u0000", "contains a NUL character"),
        ("custom_attributes", {"note": "a\u0000b"}, "contains a NUL character"),
        ("custom_attributes", {"big": 10**40}, "outside the 64-bit range"),
    ],
)
def test_what_cannot_be_stored_or_shown_is_refused_where_it_enters(
    steady, field: str, value: Any, message: str
) -> None:
    """L3, L4 and M1: a clear 422 from POST /api/users, the same row error from a bulk import."""
    api = Api.new_workspace(steady.base_url, "entry")
    person = {"email": "p@a.example", field: value}
    response = api.request("POST", "/api/users", json=person)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    done = _bulk(api, [person, {"email": "fine@a.example"}])
    assert (done["counts"]["created"], done["counts"]["failed"]) == (1, 1)
    report = api.ok("GET", f"/api/imports/{done['id']}/errors", params={"format": "json"})
    assert message in report["data"][0]["errors"][0]
    assert api.ok("GET", "/api/attributes")["data"] == []  # no attribute typed from a bad value


def test_the_csv_path_gives_the_same_row_errors(steady) -> None:
    api = Api.new_workspace(steady.base_url, "csv-entry")
    content = (
        'email,name,tags\n"a@a.example","Ann\nSmith",x\n'
        'b@a.example,Admin\u202egnp.exe,y\nc@a.example,Fine,"VIP\nGold"\nd@a.example,Dee,z\n'
    ).encode()
    done = api.import_csv(content, mapping={"email": "email", "name": "name", "tags": "tags"})
    assert done["counts"] == {
        "rows": 4,
        "created": 2,
        "updated": 0,
        "failed": 2,
        "unchanged": 0,
        "warnings": 0,
    }
    report = api.ok("GET", f"/api/imports/{done['id']}/errors", params={"format": "json"})
    assert [(e["row"], e["errors"][0].split(" contains ")[1]) for e in report["data"]] == [
        (1, "a line break: remove it"),
        (2, "a text-direction control (U+202E): remove it"),
    ]


def test_nul_in_ids_and_query_values_is_a_4xx(steady) -> None:
    """M1: NUL in ids, query parameters and body fields → 404 / 422, never 500."""
    api = Api.new_workspace(steady.base_url, "nul-routes")
    for path in (
        "/api/users/%00",
        "/api/users/%00/events",
        "/api/users/%00/messages",
        "/api/imports/%00",
        "/api/imports/%00/errors",
        "/api/messages/%00",
        "/api/messages/%00/deliveries",
        "/api/segments/%00/users",
    ):
        assert api.request("GET", path).status_code == 404, path
    assert api.request("PATCH", "/api/messages/%00", json={}).status_code == 404
    assert api.request("POST", "/api/imports/%00/start", json={}).status_code == 404
    for params in ({"q": "\x00"}, {"email": "\x00"}, {"user_id": "\x00"}, {"q": "tag:\x00"}):
        response = api.request("GET", "/api/users", params=params)
        assert response.status_code == 422 and "NUL" in response.text, params
    audience = {"field": "role", "op": "eq", "value": "user"}
    bodies = [
        ("/api/events", {"event_name": "e", "created_at": 1, "user_id": "\x00"}),
        ("/api/events", {"event_name": "e", "created_at": 1, "id": "\x00"}),
        (
            "/api/events",
            {
                "event_name": "e",
                "created_at": 1,
                "email": "x@a.example",
                "metadata": {"k": "a\x00"},
            },
        ),
        ("/api/messages", {"name": "m\x00", "audience": audience}),
        ("/api/messages", {"name": "m", "subject": "s\x00", "audience": audience}),
        ("/api/messages", {"name": "m", "body": "b\x00", "audience": audience}),
        ("/api/segments", {"name": "s\x00", "filter": audience}),
        ("/api/audiences/count", {"filter": {"field": "event:x\x00", "op": "exists"}}),
        ("/api/audiences/count", {"filter": {"field": "custom.x\x00", "op": "exists"}}),
        ("/api/imports/mailchimp", {"api_key": "k-us6", "list_id": "L1", "tag": "t\x00g"}),
    ]
    for path, body in bodies:
        response = api.request("POST", path, json=body)
        assert response.status_code == 422, (path, body, response.text)
    bulk = api.request(
        "POST", "/api/users/bulk", params={"tag": "x\x00"}, json=[{"email": "a@b.io"}]
    )
    assert bulk.status_code == 422
    admin = Api(steady.base_url, "test-admin-token")
    assert admin.request("POST", "/api/workspaces", json={"name": "w\x00"}).status_code == 422


class SlowHook(BaseHTTPRequestHandler):
    """A webhook receiver answering after ``delay_s``, with ``status``."""

    delay_s: ClassVar[float] = 0.0
    status: ClassVar[int] = 200
    posts: ClassVar[list[tuple[float, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append((time.monotonic(), self.path))
        time.sleep(self.delay_s)
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_hook() -> Iterator[tuple[type[SlowHook], str]]:
    SlowHook.posts = []
    server = ThreadingHTTPServer((FAKES_HOST, 12680 + OFFSET), SlowHook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield SlowHook, f"http://{FAKES_HOST}:{12680 + OFFSET}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://0177.0.0.1:18082/x", "Invalid IPv4"),
        ("http://127.0.0.1:99999/x", "port 99999"),
        ("http://[::1/x", "not a valid URL"),
        ("ftp://example.com/x", "http:// or https://"),
    ],
)
def test_a_malformed_webhook_url_is_refused_when_saved(steady, url: str, message: str) -> None:
    """C2 (URLs): refused with a 422 at creation and at edit, so nothing reaches the sender."""
    api = Api.new_workspace(steady.base_url, "bad-url")
    body = {
        "name": "m",
        "channel": "webhook",
        "webhook_url": url,
        "audience": {"field": "role", "op": "eq", "value": "user"},
    }
    response = api.request("POST", "/api/messages", json=body)
    assert response.status_code == 422 and message in response.text, response.text
    fine = api.ok(
        "POST", "/api/messages", 201, json={**body, "webhook_url": "https://hooks.example.com/h"}
    )
    patched = api.request("PATCH", f"/api/messages/{fine['id']}", json={"webhook_url": url})
    assert patched.status_code == 422 and message in patched.text


def test_a_line_break_in_a_name_never_breaks_an_email(steady, smtp_server) -> None:
    """C2 (headers): a subject with a line break is refused when saved; a name with one (from
    before these rules, so written straight to the database) is folded when sent."""
    api = Api.new_workspace(steady.base_url, "headers")
    audience = {"field": "email", "op": "eq", "value": "lf@a.example"}
    refused = api.request(
        "POST",
        "/api/messages",
        json={"name": "w", "channel": "email", "subject": "Hi\r\nBcc: x@y", "audience": audience},
    )
    assert refused.status_code == 422 and "one line" in refused.text
    contact = api.ok("POST", "/api/users", json={"email": "lf@a.example", "name": "Ann"})
    query(
        steady.dsn,
        "UPDATE contacts SET name = $1 WHERE id = $2",
        "Ann\nSmith",
        contact["contact"]["id"],
    )
    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "welcome",
            "type": "manual",
            "channel": "email",
            "subject": "Welcome {{name}}",
            "body": "hi",
            "audience": audience,
            "state": "live",
        },
    )
    assert api.wait_for(lambda: len(smtp_server), 1) == 1
    assert "Subject: Welcome Ann Smith\r\n" in smtp_server[0].content.decode()
    rows = api.wait_for(
        lambda: [
            d["status"] for d in api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"]
        ],
        ["delivered"],
    )
    assert rows == ["delivered"]


def test_an_unreadable_vendor_answer_fails_the_import_not_the_parser(steady) -> None:
    """C3: a broken gzip body, and (at creation) a port out of range."""
    api = Api.new_workspace(steady.base_url, "c3")
    bad_port = api.request(
        "POST",
        "/api/imports/mailchimp",
        json={"api_key": MC_KEY, "list_id": "L1", "base_url": f"http://{FAKES_HOST}:99999"},
    )
    assert bad_port.status_code == 422 and "port 99999" in bad_port.text
    with FakeMailchimp(MC_KEY, {"L1": [mailchimp_member(0, "L1")]}) as server:
        server.broken_gzip = True
        created = api.ok(
            "POST",
            "/api/imports/mailchimp",
            202,
            json={"api_key": MC_KEY, "list_id": "L1", "base_url": server.base_url},
        )
        done = api.wait(created["id"], timeout_s=60)
    assert done["status"] == "failed"
    assert "body that could not be decoded" in done["error"]
    after = api.import_csv(b"email\nafter@a.example\n", mapping={"email": "email"})
    assert after["status"] == "completed"  # the parser goes on for everyone


def test_slow_pulls_of_one_workspace_do_not_hold_another_ones_import(steady) -> None:
    """H1: four pulls told to wait (429, Retry-After 20 s) by one workspace; another's
    one-row CSV completes in seconds, not after them (it took 36 s)."""
    slow = Api.new_workspace(steady.base_url, "slow pulls")
    other = Api.new_workspace(steady.base_url, "other")
    with FakeMailchimp(MC_KEY, {"L1": [mailchimp_member(i, "L1") for i in range(3)]}) as server:
        server.faults[0] = Fault(429, times=8, retry_after="20")
        pulls = [
            slow.ok(
                "POST",
                "/api/imports/mailchimp",
                202,
                json={"api_key": MC_KEY, "list_id": "L1", "base_url": server.base_url},
            )
            for _ in range(5)
        ]
        time.sleep(2)
        started = time.monotonic()
        done = other.import_csv(b"email\nquick@a.example\n", mapping={"email": "email"})
        took = time.monotonic() - started
        states = [slow.ok("GET", f"/api/imports/{p['id']}")["status"] for p in pulls]
    assert done["status"] == "completed" and took < 8, took
    # At most two pulls of one workspace run at once; the others wait, queued.
    assert states.count("processing") <= 2 and states.count("queued") >= 3, states


def test_a_slow_receiver_of_one_workspace_does_not_delay_anothers_delivery(
    steady, slow_hook
) -> None:
    """M3: 48 deliveries to a receiver answering 503 after 4 s; another workspace's in-app
    delivery still arrives at once (it took 17.6 s)."""
    hook, base = slow_hook
    hook.delay_s, hook.status = 4.0, 503
    busy = Api.new_workspace(steady.base_url, "busy")
    busy.import_csv(
        b"email,tier\nz@a.example,slow\n",
        mapping={"email": "email"},
        custom_attributes={"tier": "tier"},
    )
    blast = busy.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "blast",
            "channel": "webhook",
            "webhook_url": f"{base}/slow503",
            "audience": {"field": "custom.tier", "op": "eq", "value": "slow"},
            "state": "live",
        },
    )
    rows = "".join(f"s{i}@a.example,slow\n" for i in range(48)).encode()
    busy.import_csv(
        b"email,tier\n" + rows, mapping={"email": "email"}, custom_attributes={"tier": "tier"}
    )
    quiet = Api.new_workspace(steady.base_url, "quiet")
    quiet.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "hello",
            "audience": {"field": "email", "op": "ends_with", "value": "@q.example"},
            "state": "live",
        },
    )
    time.sleep(3)
    started = time.monotonic()
    person = quiet.ok("POST", "/api/users", json={"email": "b@q.example"})["contact"]
    inbox = quiet.wait_for(
        lambda: len(quiet.ok("GET", f"/api/users/{person['id']}/messages")["data"]), 1, 30
    )
    took = time.monotonic() - started
    busy.ok("PATCH", f"/api/messages/{blast['id']}", json={"state": "paused"})
    assert inbox == 1 and took < 1.5, took
    assert len(hook.posts) >= 1  # the blast was under way meanwhile


def test_a_too_long_in_list_is_refused_with_the_limit(steady) -> None:
    """H4: the filter says how many values an 'in' may have."""
    api = Api.new_workspace(steady.base_url, "in-list")
    values = [f"p{i}@a.example" for i in range(1001)]
    response = api.request(
        "POST",
        "/api/audiences/count",
        json={"filter": {"field": "email", "op": "in", "value": values}},
    )
    assert response.status_code == 422
    assert "at most 1,000 are allowed" in response.json()["error"]["message"]
    ok = api.ok(
        "POST",
        "/api/audiences/count",
        json={"filter": {"field": "email", "op": "in", "value": values[:1000]}},
    )
    assert ok == {"count": 0}


def test_the_json_error_report_comes_in_pages(steady) -> None:
    """L2: 120 failures, 50 a page, every one once."""
    api = Api.new_workspace(steady.base_url, "pages")
    # The first rows are emails (a column none of whose first values is one is refused).
    good = b"".join(b"ok%d@example.com\n" % i for i in range(10))
    content = b"email\n" + good + b"".join(b"not-an-email-%d\n" % i for i in range(120))
    done = api.import_csv(content, mapping={"email": "email"})
    assert done["counts"]["failed"] == 120
    rows: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"format": "json", **({"cursor": cursor} if cursor else {})}
        page = api.ok("GET", f"/api/imports/{done['id']}/errors", params=params)
        rows.extend(e["row"] for e in page["data"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert rows == list(range(11, 131)) and pages == 3


def test_uploads_that_fail_leave_no_file_behind(steady) -> None:
    """M5: every refused upload removes what it stored."""
    api = Api.new_workspace(steady.base_url, "orphans")
    storage = steady.storage_dir
    before = set(storage.iterdir())
    refused = [
        ({"file": ("a.csv", b"")}, None),
        ({"file": ("a.csv", b"email\nx@y.io\n")}, {"source": "../../etc"}),
        ({"file": ("a.bin", bytes(range(256)) * 40)}, None),
        ({"file": ("a.json", b'{"not": "a profile"}')}, {"source": "mixpanel_file"}),
    ]
    for files, data in refused:
        response = api.request("POST", "/api/imports", files=files, data=data)
        assert response.status_code == 422, response.text
    two = api.request(
        "POST",
        "/api/imports",
        files=[("file", ("a.csv", b"email\na@b.io\n")), ("file", ("b.csv", b"email\nb@b.io\n"))],
    )
    assert two.status_code == 422 and "one file per upload" in two.text  # L7
    assert set(storage.iterdir()) == before
    # A Mixpanel export with a NUL in a property is accepted: the preview shows U+FFFD.
    export = json.dumps([{"$distinct_id": "1", "$properties": {"$name": "a\u0000b"}}])
    uploaded = api.upload(export.encode(), "people.json", source="mixpanel_file")
    assert uploaded["preview"][0][1] == "a\ufffdb"
