"""The README walkthrough, over HTTP against the four services running as processes."""

from __future__ import annotations

from tests.support.api import Api

CSV = (
    b"Email Address,User ID,Full name,Plan,Signed up\n"
    b"ann@example.com,u1,Ann,pro,01/02/2015\n"
    b"bob@example.com,u2,Bob,free,2015-03-04\n"
    b"cat@example.com,u3,Cat,pro,1420070400\n"
    b"not-an-email,u4,Dan,pro,2015-01-01\n"
)


def test_walkthrough(services) -> None:
    api = Api.new_workspace(services.base_url, "Acme")
    uploaded = api.upload(CSV)
    assert uploaded["status"] == "uploaded"
    assert uploaded["columns"] == ["Email Address", "User ID", "Full name", "Plan", "Signed up"]
    assert uploaded["detected"] == {"encoding": "utf-8", "delimiter": ","}
    assert uploaded["suggested_mapping"]["email"] == "Email Address"
    assert uploaded["suggested_mapping"]["user_id"] == "User ID"
    assert len(uploaded["preview"]) == 4

    api.start(
        uploaded["id"],
        kind="users",
        mapping=uploaded["suggested_mapping"],
        custom_attributes={"Plan": "plan"},
        tag="New Sign-Ups 2015",
    )
    done = api.wait(uploaded["id"])
    assert done["status"] == "completed", done
    assert done["counts"] == {
        "rows": 4,
        "created": 3,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }
    assert done["progress"] == 1.0

    people = api.all_users(q="tag: New Sign-Ups 2015")
    assert sorted(p["email"] for p in people) == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    ]
    ann = next(p for p in people if p["user_id"] == "u1")
    assert ann["signed_up_at"] == "2015-02-01T00:00:00Z"
    assert ann["custom_attributes"] == {"plan": "pro"}

    attributes = api.ok("GET", "/api/attributes")["data"]
    assert attributes == [{"name": "plan", "type": "string"}]

    report = api.request("GET", f"/api/imports/{uploaded['id']}/errors")
    assert report.status_code == 200
    lines = report.text.strip().splitlines()
    assert lines[0] == "row,errors,Email Address,User ID,Full name,Plan,Signed up"
    assert lines[1].startswith("4,") and "not-an-email" in lines[1]

    message = api.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "Welcome pros",
            "type": "auto",
            "channel": "in_app",
            "subject": "Hi {{name}}",
            "body": "You are on {{custom.plan}}",
            "audience": {"field": "custom.plan", "op": "eq", "value": "pro"},
            "state": "live",
        },
    )
    inbox = api.wait_for(
        lambda: [m["subject"] for m in api.ok("GET", f"/api/users/{ann['id']}/messages")["data"]],
        ["Hi Ann"],
    )
    assert inbox == ["Hi Ann"]
    deliveries = api.wait_for(
        lambda: len(api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"]), 2
    )
    assert deliveries == 2  # Ann and Cat; Bob is on free

    # A change that makes Bob match delivers right away, once.
    api.ok("POST", "/api/users", json={"user_id": "u2", "custom_attributes": {"plan": "pro"}})
    assert (
        api.wait_for(
            lambda: len(api.ok("GET", f"/api/messages/{message['id']}/deliveries")["data"]), 3
        )
        == 3
    )
    api.ok("POST", "/api/users", json={"user_id": "u2", "name": "Bobby"})
    bob = api.all_users(user_id="u2")[0]
    assert (
        api.wait_for(lambda: len(api.ok("GET", f"/api/users/{bob['id']}/messages")["data"]), 1) == 1
    )
