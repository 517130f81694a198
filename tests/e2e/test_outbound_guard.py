"""Requests Usher makes on a user's behalf never reach the operator's network (SPEC §8), and
nothing is unbounded or guessable before sign-in (probe H2, H3, M4, L1, L5–L9).

The test stack lets the services reach 127.0.0.2 only (USHER_ALLOWED_PRIVATE_HOSTS), where the
tests' own receivers listen; every other loopback address stays refused, as in production.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from infra.stack import Stack
from tests.support.api import ADMIN, Api
from tests.support.db import query
from tests.support.env import FAKES_HOST, OFFSET

SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "[::1]",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "localhost",
    "10.0.0.1",
    "169.254.169.254",
    "127.0.0.3",  # loopback, but not the one address the operator allowed
]
AUDIENCE = {"field": "email", "op": "eq", "value": "hook@a.example"}
MC_KEY = "0123456789abcdef0123456789abcdef-us6"


class Hook(BaseHTTPRequestHandler):
    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.posts.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://{FAKES_HOST}:{self.server.server_port}/target")
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    Hook.posts = []
    server = ThreadingHTTPServer((FAKES_HOST, 12690 + OFFSET), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{FAKES_HOST}:{12690 + OFFSET}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("host", SPELLINGS)
def test_every_internal_address_is_refused_at_creation(services: Stack, host: str) -> None:
    api = Api.new_workspace(services.base_url, "ssrf")
    url = f"http://{host}:18080/hook"
    message = api.request(
        "POST",
        "/api/messages",
        json={"name": "m", "channel": "webhook", "webhook_url": url, "audience": AUDIENCE},
    )
    mailchimp = api.request(
        "POST",
        "/api/imports/mailchimp",
        json={"api_key": MC_KEY, "list_id": "L1", "base_url": f"http://{host}:18080"},
    )
    mixpanel = api.request(
        "POST",
        "/api/imports/mixpanel",
        json={
            "project_id": 1,
            "service_account_username": "u",
            "service_account_secret": "s",
            "base_url": f"http://{host}:18080",
        },
    )
    for response, what in (
        (message, "webhook_url"),
        (mailchimp, "base_url"),
        (mixpanel, "base_url"),
    ):
        assert response.status_code == 422, (host, what, response.text)
        assert f"{what}: the address is not allowed" in response.json()["error"]["message"]
    assert api.ok("GET", "/api/imports")["data"] == []


def test_the_allowed_address_works_and_redirects_are_not_followed(services, hook) -> None:
    api = Api.new_workspace(services.base_url, "allowed")
    api.ok("POST", "/api/users", json={"email": "hook@a.example"})
    for path, status in (("/ok", "delivered"), ("/redirect", "failed")):
        message = api.ok(
            "POST",
            "/api/messages",
            201,
            json={
                "name": path,
                "type": "manual",
                "channel": "webhook",
                "webhook_url": f"{hook}{path}",
                "audience": AUDIENCE,
                "state": "live",
            },
        )
        rows = api.wait_for(
            lambda m=message: [
                d["status"] for d in api.ok("GET", f"/api/messages/{m['id']}/deliveries")["data"]
            ],
            [status],
        )
        assert rows == [status], path
    reason = api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"][0]["reason"]
    assert reason == (
        f"the webhook at {hook} answered 302 (Found): Usher does not follow redirects;"
        " give the final URL"
    )
    assert Hook.posts == ["/ok", "/redirect"]  # the redirect's target was never asked


def _activate(stack: Stack, workspace_id: str, message_id: str) -> None:
    """Announce a message as live, as PATCH does (here: one the API would refuse)."""
    import asyncio

    from shared import events
    from shared.events import MessageActivated
    from shared.kafka import make_producer
    from shared.topics import MESSAGE_ACTIVATIONS

    async def send() -> None:
        producer = make_producer(stack.settings())
        await producer.start()
        try:
            await producer.send_and_wait(
                MESSAGE_ACTIVATIONS.name(stack.settings()),
                events.encode(MessageActivated(workspace_id=workspace_id, message_id=message_id)),
                key=workspace_id.encode(),
            )
        finally:
            await producer.stop()

    asyncio.run(send())


def test_an_address_refused_at_send_says_not_allowed_and_nothing_else(services) -> None:
    """A URL that leads somewhere internal by the time it is used (stored before these rules,
    or a name whose DNS changed) is refused again: at going live (422) and at the send itself,
    whose reason says "not allowed" and nothing of what is there."""
    api = Api.new_workspace(services.base_url, "at-send")
    api.ok("POST", "/api/users", json={"email": "hook@a.example"})
    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "m",
            "type": "manual",
            "channel": "webhook",
            "webhook_url": "https://hooks.example.com/h",
            "audience": AUDIENCE,
        },
    )
    internal = f"http://localhost:{services.http_port}/api/workspaces"
    query(
        services.dsn, "UPDATE messages SET webhook_url = $1 WHERE id = $2", internal, message["id"]
    )
    going_live = api.request("PATCH", f"/api/messages/{message['id']}", json={"state": "live"})
    assert going_live.status_code == 422 and "not allowed" in going_live.text
    query(
        services.dsn,
        "UPDATE messages SET state = 'live', activated_at = now() WHERE id = $1",
        message["id"],
    )
    _activate(services, api.workspace["id"], message["id"])
    reason = (
        "webhook_url: the address is not allowed: Usher does not send requests to loopback,"
        " private, link-local or other non-public addresses"
    )
    rows = api.wait_for(
        lambda: [
            (d["status"], d["reason"])
            for d in api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"]
        ],
        [("failed", reason)],
    )
    assert rows == [("failed", reason)]


def _raw(port: int, head: str) -> tuple[str, float]:
    """Send only a request's head (no body) and read the answer: (status line, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], time.monotonic() - started


def test_a_huge_body_is_answered_before_it_is_sent(services, stack) -> None:
    """H3: a body declared larger than its route takes is 413 at once, whatever the token; a
    wrong token is 401 before any of the body is read. Nothing of the body is ever sent here."""
    api = Api.new_workspace(services.base_url, "huge")
    huge = 500 * 1024 * 1024
    for path, token, size, expected in (
        ("/api/messages", "wrong", huge, "413"),
        ("/api/workspaces", "wrong", huge, "413"),
        ("/api/users", api.token, huge, "413"),
        ("/api/users/bulk", api.token, huge, "413"),
        ("/api/imports", api.token, huge, "413"),
        ("/api/messages", "wrong", 900_000, "401"),  # within the limit: the token first
        ("/api/workspaces", "wrong", 900_000, "401"),
        ("/api/users/bulk", "wrong", 40_000_000, "401"),
    ):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        status, seconds = _raw(services.http_port, head)
        assert expected in status and seconds < 2, (path, status, seconds)
    limit = 1024 * 1024
    response = api.request(
        "POST",
        "/api/users",
        content=b"{" + b" " * limit + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "larger than the limit of 1,048,576 bytes" in response.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for _ in range(20):
            yield b" " * 100_000

    streamed = api.request(
        "POST", "/api/messages", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_hardening_headers_docs_and_worker_ports(services) -> None:
    response = httpx.get(f"{services.base_url}/")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "server" not in response.headers  # L5: no "uvicorn" banner
    assert httpx.get(f"{services.base_url}/docs").status_code == 404  # CDN scripts: off
    api_error = httpx.get(f"{services.base_url}/api/imports")
    assert api_error.status_code == 401 and api_error.headers["x-frame-options"] == "DENY"
    # L1: the workers' /healthz and /metrics listen on loopback only.
    import psutil

    for name in ("parser", "merger", "messenger"):
        proc = psutil.Process(services.services[name].pid)
        listening = [c.laddr for c in proc.net_connections() if c.status == psutil.CONN_LISTEN]
        assert listening and all(a.ip == "127.0.0.1" for a in listening), (name, listening)


def test_an_audience_of_everyone_must_be_meant(services) -> None:
    """L9: {"and": []} matches everyone: refused unless confirm_everyone says so."""
    api = Api.new_workspace(services.base_url, "everyone")
    body = {"name": "all", "audience": {"and": []}}
    refused = api.request("POST", "/api/messages", json=body)
    assert refused.status_code == 422 and "matches everyone" in refused.text
    meant = api.ok("POST", "/api/messages", 201, json={**body, "confirm_everyone": True})
    narrow = {"field": "role", "op": "eq", "value": "user"}
    other = api.ok("POST", "/api/messages", 201, json={"name": "n", "audience": narrow})
    widened = api.request(
        "PATCH", f"/api/messages/{other['id']}", json={"audience": {"or": [{"and": []}]}}
    )
    assert widened.status_code == 422
    assert meant["audience"] == {"and": []}


def test_wrong_tokens_and_admin_guesses_are_rate_limited(stack) -> None:
    """M4, in the real app in process: per client address before any look-up; the admin route
    too; a valid tenant is unaffected by a flood of random tokens from elsewhere."""
    from fastapi.testclient import TestClient

    from services.upload.main import create_app

    settings = stack.settings().model_copy(
        update={
            "admin_token": ADMIN,
            "auth_failures_per_minute": 5,
            "rate_limit_per_ip_per_minute": 0,
            "rate_limit_per_minute": 0,
        }
    )
    app = create_app(settings)
    with TestClient(app) as client:
        token = client.post(
            "/api/workspaces", json={"name": "t"}, headers={"Authorization": f"Bearer {ADMIN}"}
        ).json()["token"]
        wrong = [
            client.get("/api/imports", headers={"Authorization": f"Bearer wsk_{i}"})
            for i in range(7)
        ]
        assert [r.status_code for r in wrong] == [401] * 5 + [429] * 2
        assert int(wrong[-1].headers["Retry-After"]) >= 1
        guesses = [
            client.post(
                "/api/workspaces",
                json={"name": "x"},
                headers={"Authorization": f"Bearer guess-{i}"},
            )
            for i in range(2)
        ]
        assert {r.status_code for r in guesses} == {429}  # the same address: out of failures
    # From another address, the tenant's valid token works whatever the flood did.
    with TestClient(app, client=("203.0.113.9", 1234)) as other:
        ok = other.get("/api/imports", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    assert len(app.state.limits.failures.buckets) == 1  # random tokens made no buckets
