"""The conflict queue and merging contacts (SPEC §6.4) over the running services."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api
from tests.support.db import query


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def twins(services: Any, name: str) -> tuple[Api, dict[str, Any]]:
    """Two users sharing an email; an import whose rows for that email cannot be placed."""
    api = Api.new_workspace(services.base_url, name)
    api.import_csv(
        csv("email,user_id,name", "twin@example.com,t1,One", "twin@example.com,t2,Two"),
        mapping={"email": "email", "user_id": "user_id", "name": "name"},
    )
    return api, {u["user_id"]: u for u in api.all_users()}


def test_an_ambiguous_record_waits_and_its_resolution_is_an_ordinary_change(services: Any) -> None:
    api, users = twins(services, "conflicts")
    api.new_message(
        name="Resolved",
        type="auto",
        channel="in_app",
        subject="Hi {{name}}",
        body="b",
        audience={"field": "name", "op": "eq", "value": "Resolved"},
        state="live",
    )
    done = api.import_csv(
        csv(
            "email,name",
            "twin@example.com,Resolved",
            "TWIN@example.com,Created",
            "twin@example.com,Dropped",
        ),
        mapping={"email": "email", "name": "name"},
        tag="Later",
    )
    assert done["counts"]["failed"] == 3
    queue = api.ok("GET", "/api/conflicts")["data"]
    assert [c["row"] for c in queue] == [1, 2, 3]
    first = queue[0]
    assert first["reason"] == "ambiguous_email" and first["import_id"] == done["id"]
    assert first["record"] == {"email": "twin@example.com", "name": "Resolved"}
    assert sorted(c["user_id"] for c in first["candidates"]) == ["t1", "t2"]

    wrong = api.request(
        "POST", f"/api/conflicts/{first['id']}/resolve", json={"contact_id": "c_nobody"}
    )
    assert wrong.status_code == 422, wrong.text
    resolved = api.ok(
        "POST", f"/api/conflicts/{first['id']}/resolve", json={"contact_id": users["t2"]["id"]}
    )
    assert resolved["status"] == "resolved"
    assert resolved["resolution"] == {"action": "update", "contact_id": users["t2"]["id"]}
    two = api.ok("GET", f"/api/users/{users['t2']['id']}")
    assert two["name"] == "Resolved" and "Later" in two["tags"]
    inbox = Api.wait_for(
        lambda: len(api.ok("GET", f"/api/users/{users['t2']['id']}/messages")["data"]), 1
    )
    assert inbox == 1, "a live message reacts to a resolved conflict"
    again = api.request("POST", f"/api/conflicts/{first['id']}/resolve", json={"action": "dismiss"})
    assert again.status_code == 409, again.text

    created = api.ok("POST", f"/api/conflicts/{queue[1]['id']}/resolve", json={"action": "create"})
    new = api.ok("GET", f"/api/users/{created['resolution']['contact_id']}")
    assert (new["email"], new["name"], new["user_id"], new["role"]) == (
        "TWIN@example.com",
        "Created",
        None,
        "user",
    )
    before = {u["id"]: u for u in api.all_users()}
    dropped = api.ok("POST", f"/api/conflicts/{queue[2]['id']}/resolve", json={"action": "dismiss"})
    assert dropped["resolution"] == {"action": "dismiss"}
    assert {u["id"]: u for u in api.all_users()} == before
    assert api.ok("GET", "/api/conflicts")["data"] == []
    bad = api.request("POST", f"/api/conflicts/{queue[2]['id']}/resolve", json={})
    assert bad.status_code in (409, 422)


def test_a_dry_run_queues_no_conflict(services: Any) -> None:
    api, _ = twins(services, "conflicts-dry")
    uploaded = api.upload(csv("email,name", "twin@example.com,X"))
    api.dry_run(uploaded["id"], mapping={"email": "email", "name": "name"})
    assert api.wait(uploaded["id"])["counts"]["failed"] == 1
    assert api.ok("GET", "/api/conflicts")["data"] == []


def test_merging_a_lead_into_a_user(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "merge")
    api.import_csv(
        csv("email,user_id,name,plan", "ann@example.com,u1,Ann,"),
        mapping={"email": "email", "user_id": "user_id", "name": "name"},
        custom_attributes={"plan": "plan"},
        tag="Users",
    )
    api.import_csv(
        csv("email,name,phone,plan", "ann.other@example.com,Annie,+442079460958,pro"),
        kind="leads",
        mapping={"email": "email", "name": "name", "phone": "phone"},
        custom_attributes={"plan": "plan"},
        tag="Leads",
    )
    people = {u["email"]: u for u in api.all_users()}
    user, lead = people["ann@example.com"], people["ann.other@example.com"]
    welcome = api.new_message(
        name="Everyone",
        type="auto",
        channel="in_app",
        subject="s",
        body="b",
        audience={"field": "email", "op": "contains", "value": "ann"},
        state="live",
    )
    both = Api.wait_for(
        lambda: query(
            services.dsn,
            "SELECT count(*) AS n FROM deliveries WHERE message_id = $1",
            welcome["id"],
        )[0]["n"],
        2,
    )
    assert both == 2
    api.ok(
        "POST",
        "/api/events",
        202,
        json={"event_name": "visited", "id": lead["id"], "created_at": "2020-01-01T00:00:00Z"},
    )
    refused = api.request("POST", "/api/users/merge", json={"from": user["id"], "into": lead["id"]})
    assert refused.status_code == 422 and "user_id" in refused.text
    missing = api.request("POST", "/api/users/merge", json={"from": "c_nobody", "into": user["id"]})
    assert missing.status_code == 404

    merged = api.ok("POST", "/api/users/merge", json={"from": lead["id"], "into": user["id"]})
    assert merged["id"] == user["id"]
    assert (merged["name"], merged["email"], merged["phone"]) == (
        "Ann",
        "ann@example.com",
        "+442079460958",
    )
    assert merged["tags"] == ["Users", "Leads"]
    assert merged["custom_attributes"] == {"plan": "pro"}  # Ann had none: filled from the lead
    assert api.request("GET", f"/api/users/{lead['id']}").status_code == 404
    rows = query(
        services.dsn,
        "SELECT contact_id FROM deliveries WHERE message_id = $1",
        welcome["id"],
    )
    assert [r["contact_id"] for r in rows] == [user["id"]], "a message both had counts once"
    events = api.ok("GET", f"/api/users/{user['id']}/events")["data"]
    assert [e["event_name"] for e in events] == ["visited"]
