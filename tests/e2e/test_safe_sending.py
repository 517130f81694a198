"""Safe sending over the running services: failures as sentences and a retry that sends each
failed delivery once, test sends through the real mail server and webhook receiver, and
deliveries that record the message version they were sent with."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.support.api import Api
from tests.support.db import query
from tests.support.env import FAKES_HOST, OFFSET, SMTP_PORT
from tests.support.mail import MailServer

VIP = {"field": "tag", "op": "eq", "value": "VIP"}
HOOK_PORT = 12710 + OFFSET


def _vips(api: Api, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        api.ok(
            "POST",
            "/api/users",
            json={"email": f"v{i}@example.com", "name": f"Vera {i} Lee", "tags": ["VIP"]},
        )


def _message(api: Api, message_id: str) -> Any:
    return api.ok("GET", f"/api/messages/{message_id}")


def _until(probe: Any, done: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached in time: {value}"
        time.sleep(0.3)


@pytest.fixture
def mail() -> Iterator[MailServer]:
    """The stack's mail server, down until the test starts it."""
    server = MailServer()
    yield server
    server.stop()


def test_failed_emails_say_why_and_a_retry_sends_each_once(services, mail) -> None:
    api = Api.new_workspace(services.base_url, "retry")
    _vips(api, 3)
    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "Launch",
            "type": "manual",
            "channel": "email",
            "subject": 'Hi {{first_name | fallback: "there"}}',
            "body": "b",
            "audience": VIP,
            "state": "live",
        },
    )
    failed = _until(lambda: _message(api, message["id"]), lambda m: m["status"] == "failed")
    assert failed["status_text"] == "Failed — 3 of 3 deliveries failed"
    assert failed["state"] == "live"  # stored state; what it reads as is "failed"
    reasons = {d["reason"] for d in api.pages(f"/api/messages/{message['id']}/deliveries")}
    assert reasons == {
        f"the mail server at 127.0.0.1:{SMTP_PORT} refused the connection; gave up after 3 attempts"
    }

    mail.start()
    assert api.ok("POST", f"/api/messages/{message['id']}/retry") == {"requeued": 3}
    assert api.ok("POST", f"/api/messages/{message['id']}/retry") == {"requeued": 0}
    sent = _until(lambda: _message(api, message["id"]), lambda m: m["status"] == "sent")
    assert sent["status_text"] == "Sent to 3 people"
    time.sleep(2)  # a second send would arrive by now
    assert sorted(e.rcpt_tos[0] for e in mail.received) == [f"v{i}@example.com" for i in range(3)]
    subjects = sorted(
        line
        for e in mail.received
        for line in e.content.decode().splitlines()
        if line.startswith("Subject:")
    )
    assert subjects == ["Subject: Hi Vera"] * 3
    rows = api.pages(f"/api/messages/{message['id']}/deliveries")
    assert {(d["status"], d["reason"], d["attempts"]) for d in rows} == {("delivered", None, 4)}


def test_a_test_email_goes_through_the_mail_server(services, smtp_server) -> None:
    api = Api.new_workspace(services.base_url, "test-email")
    zoe = api.ok("POST", "/api/users", json={"email": "zoe@example.com", "name": "Zoe Patel"})
    sent = api.ok(
        "POST",
        "/api/messages/test-send",
        json={
            "channel": "email",
            "subject": 'Hi {{first_name | fallback: "there"}}',
            "body": "Hello {{email}}",
            "to": "me@example.com",
            "contact_id": zoe["contact"]["id"],
        },
    )
    assert sent == {
        "sent": True,
        "detail": f"sent to me@example.com through the mail server at 127.0.0.1:{SMTP_PORT}",
    }
    (email,) = smtp_server
    text = email.content.decode()
    assert email.rcpt_tos == ["me@example.com"]
    assert "Subject: [Test] Hi Zoe" in text and "Hello zoe@example.com" in text
    channels = {c["channel"]: c for c in api.ok("GET", "/api/channels")["data"]}
    if not channels["email"]["available"]:  # the check of 5 s ago, from before the server
        time.sleep(5.2)
        channels = {c["channel"]: c for c in api.ok("GET", "/api/channels")["data"]}
    assert channels["email"] == {
        "channel": "email",
        "available": True,
        "problem": None,
        "server": f"127.0.0.1:{SMTP_PORT}",
    }
    assert (
        api.request(
            "POST", "/api/messages/test-send", json={"channel": "email", "to": "x"}
        ).status_code
        == 422
    )


class Failing(BaseHTTPRequestHandler):
    """Answers every POST with 500 and keeps what it got."""

    posts: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append((dict(self.headers), body))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_hook() -> Iterator[str]:
    Failing.posts = []
    server = ThreadingHTTPServer((FAKES_HOST, HOOK_PORT), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{FAKES_HOST}:{HOOK_PORT}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_failure_names_the_webhook_and_its_answer(services, failing_hook) -> None:
    api = Api.new_workspace(services.base_url, "hook-500")
    _vips(api, 1)
    url = f"{failing_hook}/hooks/secret-path?token=abc"
    tried = api.ok(
        "POST",
        "/api/messages/test-send",
        json={"channel": "webhook", "subject": "s", "body": "b", "webhook_url": url},
    )
    assert tried == {
        "sent": False,
        "detail": f"the webhook at {failing_hook} answered 500 (Internal Server Error)",
    }
    headers, body = Failing.posts[-1]
    assert json.loads(body)["test"] is True and headers["Idempotency-Key"].startswith("test:test-")
    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "Hook",
            "type": "manual",
            "channel": "webhook",
            "webhook_url": url,
            "body": "b",
            "audience": VIP,
            "state": "live",
        },
    )
    _until(lambda: _message(api, message["id"]), lambda m: m["status"] == "failed", 90)
    (delivery,) = api.pages(f"/api/messages/{message['id']}/deliveries")
    assert delivery["reason"] == (
        f"the webhook at {failing_hook} answered 500 (Internal Server Error);"
        " gave up after 5 attempts"
    )
    assert "secret-path" not in delivery["reason"] and "abc" not in delivery["reason"]


def test_deliveries_keep_the_version_they_were_sent_with(services) -> None:
    api = Api.new_workspace(services.base_url, "versions")
    _vips(api, 1)
    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "Hello",
            "subject": "v1 {{first_name}}",
            "body": "one",
            "audience": VIP,
            "state": "live",
        },
    )
    path = f"/api/messages/{message['id']}"
    _until(lambda: _message(api, message["id"])["deliveries"]["delivered"], lambda n: n == 1)
    edited = api.ok("PATCH", path, json={"subject": "v2 {{first_name}}", "body": "two"})
    assert edited["version"] == 2
    _vips(api, 1, start=1)
    _until(lambda: _message(api, message["id"])["deliveries"]["delivered"], lambda n: n == 2)
    by_email = {d["email"]: d["version"] for d in api.pages(f"{path}/deliveries")}
    assert by_email == {"v0@example.com": 1, "v1@example.com": 2}
    versions = {v["version"]: v for v in api.ok("GET", f"{path}/versions")["data"]}
    assert (versions[1]["subject"], versions[1]["delivered"]) == ("v1 {{first_name}}", 1)
    assert (versions[2]["subject"], versions[2]["delivered"]) == ("v2 {{first_name}}", 1)
    rows = query(
        services.dsn,
        "SELECT c.email, d.subject, d.body FROM deliveries d JOIN contacts c ON c.id = d.contact_id"
        " WHERE d.message_id = $1 ORDER BY c.email",
        message["id"],
    )
    assert [(r["email"], r["subject"], r["body"]) for r in rows] == [
        ("v0@example.com", "v1 Vera", "one"),
        ("v1@example.com", "v2 Vera", "two"),
    ]
