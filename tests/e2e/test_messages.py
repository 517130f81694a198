"""Live messages over the running services: exactly once, through restarts, on three channels."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from tests.support.api import Api
from tests.support.db import query
from tests.support.env import FAKES_HOST, WEBHOOK_PORT


def people_csv(n: int, start: int = 0) -> bytes:
    lines = ["email,user_id,name,half"]
    for i in range(start, start + n):
        lines.append(f"p{i}@example.com,id{i},Person {i},{'gold' if i % 2 == 0 else 'basic'}")
    return ("\n".join(lines) + "\n").encode()


def deliveries(services, message_id: str) -> tuple[int, int]:
    """(deliveries, distinct people) of a message."""
    row = query(
        services.dsn,
        "SELECT count(*) AS n, count(DISTINCT contact_id) AS people FROM deliveries"
        " WHERE message_id = $1",
        message_id,
    )[0]
    return row["n"], row["people"]


def live_message(api: Api, **overrides) -> dict:
    body = {
        "name": "Half",
        "type": "auto",
        "channel": "in_app",
        "subject": "Hello {{name}}",
        "body": "Hi",
        "audience": {"field": "custom.half", "op": "eq", "value": "GOLD"},
        "state": "live",
        **overrides,
    }
    return api.ok("POST", "/api/messages", 201, json=body)


MAPPING = {"email": "email", "user_id": "user_id", "name": "name"}


def test_ten_thousand_people_half_match_exactly_once(services) -> None:
    api = Api.new_workspace(services.base_url, "exactly-once")
    # The attribute must exist before the message refers to it.
    api.import_csv(people_csv(2), mapping=MAPPING, custom_attributes={"half": "half"})
    message = live_message(api)
    content = people_csv(10_000)
    done = api.import_csv(content, mapping=MAPPING, custom_attributes={"half": "half"})
    assert done["counts"]["failed"] == 0
    assert api.wait_for(lambda: deliveries(services, message["id"]), (5000, 5000)) == (5000, 5000)

    again = api.import_csv(content, mapping=MAPPING, custom_attributes={"half": "half"})
    assert again["counts"]["updated"] == 10_000
    time.sleep(3)
    assert deliveries(services, message["id"]) == (5000, 5000)


def test_messenger_killed_mid_import_still_delivers_once(services) -> None:
    api = Api.new_workspace(services.base_url, "restart")
    # One person who does not match, so the attribute exists before the message refers to it.
    api.import_csv(people_csv(1, start=1), mapping=MAPPING, custom_attributes={"half": "half"})
    message = live_message(api)
    uploaded = api.upload(people_csv(10_000, start=100))
    api.start(uploaded["id"], mapping=MAPPING, custom_attributes={"half": "half"})
    deadline = time.monotonic() + 60
    while deliveries(services, message["id"])[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    services.stop_service("messenger", signal.SIGKILL)
    time.sleep(1)
    services.start_service("messenger")
    assert api.wait(uploaded["id"])["status"] == "completed"
    assert api.wait_for(
        lambda: deliveries(services, message["id"]), (5000, 5000), timeout_s=90
    ) == (5000, 5000)


def test_email_channel_sends_each_person_one_email(services, smtp_server) -> None:
    api = Api.new_workspace(services.base_url, "email")
    api.import_csv(people_csv(10), mapping=MAPPING, custom_attributes={"half": "half"})
    message = live_message(api, channel="email", subject="Welcome {{name}}", body="Hi {{email}}")
    assert api.wait_for(lambda: len(smtp_server), 5) == 5
    time.sleep(1)
    assert len(smtp_server) == 5
    recipients = sorted(e.rcpt_tos[0] for e in smtp_server)
    assert recipients == [f"p{i}@example.com" for i in (0, 2, 4, 6, 8)]
    first = next(e for e in smtp_server if e.rcpt_tos == ["p0@example.com"])
    text = first.content.decode()
    assert "Subject: Welcome Person 0" in text and "Hi p0@example.com" in text
    statuses = api.wait_for(
        lambda: sorted(
            d["status"] for d in api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"]
        ),
        ["delivered"] * 5,
    )
    assert statuses == ["delivered"] * 5


class Receiver(BaseHTTPRequestHandler):
    """Fails the first two attempts of every delivery with 503, then accepts it."""

    attempts: ClassVar[dict[str, int]] = {}
    accepted: ClassVar[list[tuple[bytes, str, str]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers["Idempotency-Key"]
        with self.lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            ok = self.attempts[key] > 2
            if ok:
                signed = (self.headers["X-Usher-Timestamp"], self.headers["X-Usher-Signature"])
                self.accepted.append((body, *signed))
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_retries_until_accepted_once_with_valid_signature(services) -> None:
    server = ThreadingHTTPServer((FAKES_HOST, WEBHOOK_PORT), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = Api.new_workspace(services.base_url, "webhook")
        api.import_csv(people_csv(6), mapping=MAPPING, custom_attributes={"half": "half"})
        message = live_message(
            api, channel="webhook", webhook_url=f"http://{FAKES_HOST}:{WEBHOOK_PORT}/hook"
        )
        assert api.wait_for(lambda: len(Receiver.accepted), 3, timeout_s=60) == 3
        time.sleep(1)
        assert len(Receiver.accepted) == 3
        secret = api.workspace["webhook_secret"].encode()
        for body, timestamp, signature in Receiver.accepted:
            # As the README tells receivers: HMAC-SHA256 of "<timestamp>.<body>", and a
            # timestamp within a few minutes of now (older is a replay).
            mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert signature == f"t={timestamp},v1={mac}"
            assert abs(time.time() - int(timestamp)) < 300
            assert json.loads(body)["message_id"] == message["id"]
        assert sorted(Receiver.attempts.values()) == [3, 3, 3]
        rows = api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"]
        assert sorted((d["status"], d["attempts"]) for d in rows) == [("delivered", 3)] * 3
    finally:
        server.shutdown()


def test_manual_message_goes_to_who_matches_now_only(services) -> None:
    api = Api.new_workspace(services.base_url, "manual")
    api.import_csv(people_csv(4), mapping=MAPPING, custom_attributes={"half": "half"})
    message = live_message(api, type="manual")
    assert api.wait_for(lambda: deliveries(services, message["id"]), (2, 2)) == (2, 2)
    api.import_csv(people_csv(4, start=10), mapping=MAPPING, custom_attributes={"half": "half"})
    time.sleep(3)
    assert deliveries(services, message["id"]) == (2, 2)


def test_trigger_messages_false_delivers_nothing_but_people_stay_eligible(services) -> None:
    api = Api.new_workspace(services.base_url, "no-trigger")
    api.import_csv(people_csv(2), mapping=MAPPING, custom_attributes={"half": "half"})
    message = live_message(api)
    assert api.wait_for(lambda: deliveries(services, message["id"]), (1, 1)) == (1, 1)
    api.import_csv(
        people_csv(4, start=20),
        mapping=MAPPING,
        custom_attributes={"half": "half"},
        trigger_messages=False,
    )
    time.sleep(3)
    assert deliveries(services, message["id"]) == (1, 1)
    api.ok("POST", "/api/users", json={"user_id": "id20", "name": "Changed"})
    assert api.wait_for(lambda: deliveries(services, message["id"]), (2, 2)) == (2, 2)
