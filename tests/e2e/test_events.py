"""Events API: one event, 100,000 historical events, a person's events, and audiences that
count events."""

from __future__ import annotations

import time

import orjson

from tests.support.api import Api
from tests.support.db import query


def _person(api: Api, **body) -> dict:
    return api.ok("POST", "/api/users", json=body)["contact"]


def test_one_event_rules(services) -> None:
    api = Api.new_workspace(services.base_url, "Events")
    ann = _person(api, user_id="u1", email="Ann@Example.com")
    event = {
        "event_name": "Ordered.Item$Now",
        "created_at": "2024-05-01T10:00:00Z",
        "user_id": "u1",
        "metadata": {"order": 17, "price": 9.5, "gift": False, "note": None, "sku": "A-1"},
    }
    stored = api.ok("POST", "/api/events", 202, json=event)
    assert stored["status"] == "stored"
    assert stored["event"]["event_name"] == "ordered-item-now"
    # The same person, name and time again (by email, another spelling, Unix seconds): stored once.
    again = api.ok(
        "POST",
        "/api/events",
        202,
        json={
            "event_name": "ordered-item-now",
            "created_at": 1714557600,
            "email": "ann@example.COM",
        },
    )
    assert again["status"] == "duplicate"
    api.ok(
        "POST",
        "/api/events",
        202,
        json={"event_name": "Logged in", "created_at": "2024-05-02T08:00:00Z", "id": ann["id"]},
    )
    api.ok(
        "POST",
        "/api/events",
        202,
        json={
            "event_name": "logged in",
            "created_at": "2024-05-03T08:00:00+02:00",
            "user_id": "u1",
        },
    )

    unknown = api.request(
        "POST", "/api/events", json={"event_name": "x", "created_at": 1, "user_id": "nobody"}
    )
    assert unknown.status_code == 404, unknown.text
    too_much = api.request(
        "POST",
        "/api/events",
        json={
            "event_name": "x",
            "created_at": 1,
            "user_id": "u1",
            "metadata": {f"k{i}": i for i in range(11)} | {"nested": {"a": 1}},
        },
    )
    assert too_much.status_code == 422
    details = too_much.json()["error"]["details"]
    assert any("at most 10" in d for d in details) and any("flat" in d for d in details)
    missing = api.request("POST", "/api/events", json={"event_name": "x", "user_id": "u1"})
    assert missing.status_code == 422 and "created_at is required" in missing.text

    first = api.ok("GET", f"/api/users/{ann['id']}/events", params={"limit": 2})
    assert [(e["event_name"], e["created_at"]) for e in first["data"]] == [
        ("logged in", "2024-05-03T06:00:00Z"),
        ("logged in", "2024-05-02T08:00:00Z"),
    ]
    rest = api.ok(
        "GET",
        f"/api/users/{ann['id']}/events",
        params={"limit": 2, "cursor": first["next_cursor"]},
    )
    assert rest["next_cursor"] is None
    (order,) = rest["data"]
    assert order["event_name"] == "ordered-item-now"
    assert order["metadata"] == {
        "order": 17,
        "price": 9.5,
        "gift": False,
        "note": None,
        "sku": "A-1",
    }
    other = Api.new_workspace(services.base_url, "Other")
    assert other.request("GET", f"/api/users/{ann['id']}/events").status_code == 404


def test_events_trigger_live_messages(services) -> None:
    api = Api.new_workspace(services.base_url, "Event audience")
    bob = _person(api, user_id="b1", email="bob@example.com")
    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "Loyal buyers",
            "type": "auto",
            "channel": "in_app",
            "subject": "Thanks {{name}}",
            "body": "Two orders!",
            "audience": {"field": "event:Purchased", "op": "gte", "value": 2},
            "state": "live",
        },
    )

    def deliveries() -> int:
        return len(api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"])

    purchase = {"event_name": "purchased", "user_id": "b1"}
    api.ok("POST", "/api/events", 202, json=purchase | {"created_at": "2024-01-01"})
    time.sleep(1.5)
    assert deliveries() == 0  # one purchase: not yet in the audience
    response = api.post_raw(
        "/api/events/bulk",
        b'{"event_name": "Purchased", "created_at": "2024-01-02", "user_id": "b1"}\n',
        "application/x-ndjson",
    )
    assert response.status_code == 202 and response.json()["counts"]["stored"] == 1
    assert api.wait_for(deliveries, 1) == 1
    inbox = api.ok("GET", f"/api/users/{bob['id']}/messages")["data"]
    assert [m["message_id"] for m in inbox] == [message["id"]]


def test_bulk_events_100k(services) -> None:
    api = Api.new_workspace(services.base_url, "Events 100k")
    people = [{"user_id": f"p{i}", "email": f"p{i}@example.com"} for i in range(1000)]
    response = api.post_raw("/api/users/bulk", orjson.dumps(people), "application/json")
    assert api.wait(response.json()["id"])["counts"]["created"] == 1000
    names = ["viewed page", "Added.To.Cart", "purchased", "logged in"]
    events: list[dict] = [
        {
            "event_name": names[i % 4],
            "created_at": 1_700_000_000 + i,
            "user_id": f"p{i % 1000}",
            "metadata": {"n": i, "path": f"/items/{i % 97}"},
        }
        for i in range(99_990)
    ]
    events[5] = events[4] | {}  # the same event twice in one request: stored once
    events += [
        {"event_name": "x", "created_at": 1, "user_id": "nobody"},  # unknown person
        {"event_name": "x", "created_at": "yesterday", "user_id": "p1"},  # bad date
        {"event_name": "", "created_at": 1, "email": "p2@example.com"},  # blank name
        {"event_name": "x", "created_at": 1},  # whose?
        {"event_name": "x", "created_at": 1, "id": "c_missing"},
        {"event_name": "x", "created_at": 1, "user_id": "p3", "metadata": {"a": [1]}},
        "not an object",
        {"event_name": "by email", "created_at": 2, "email": "P4@example.com"},
        {"event_name": "by email", "created_at": 3, "email": "p4@example.com"},
        {"event_name": "by email", "created_at": 3, "email": "p4@example.com"},  # duplicate
    ]
    body = orjson.dumps(events)
    started = time.monotonic()
    response = api.post_raw("/api/events/bulk", body, "application/json")
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.text
    result = response.json()
    print(
        f"\nbulk events: 100,000 events ({len(body) / 1e6:.1f} MB) in {elapsed:.1f} s"
        f" = {100_000 / elapsed:,.0f} events/s"
    )
    assert result["counts"] == {
        "received": 100_000,
        "stored": 99_989 + 2,
        "duplicates": 2,
        "failed": 7,
    }
    assert [f["index"] for f in result["failures"]] == list(range(99_990, 99_997))
    assert "no person with user_id 'nobody'" in result["failures"][0]["errors"][0]
    assert "flat" in result["failures"][5]["errors"][0]
    stored = query(
        services.dsn,
        "SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id"
        " WHERE c.workspace_id = $1",
        api.workspace["id"],
    )[0][0]
    assert stored == 99_991
    # The same body again: everything is a duplicate, nothing is stored twice.
    small = orjson.dumps(events[:1000])
    again = api.post_raw("/api/events/bulk", small, "application/json").json()
    assert again["counts"] == {"received": 1000, "stored": 0, "duplicates": 1000, "failed": 0}
