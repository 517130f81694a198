"""Safe sending, what a request alone decides (no worker runs in this tier): templates refused
with their field, previews as a person, the reach of going live, versions, copies, the archive,
retries, test sends and the channels' state."""

from __future__ import annotations

from typing import Any

import pytest

from infra.stack import Stack
from tests.support.api import Api
from tests.support.db import query

TAGGED = {"field": "tag", "op": "eq", "value": "VIP"}


def _people(api: Api) -> dict[str, Any]:
    """Two VIPs (one without a name or plan) and one other person; the people by email."""
    made = {}
    for body in (
        {
            "email": "zoe@example.com",
            "name": "Zoe Patel",
            "tags": ["VIP"],
            "custom_attributes": {"plan": "pro"},
        },
        {"email": "anon@example.com", "tags": ["VIP"]},
        {"email": "other@example.com", "name": "Other"},
    ):
        made[body["email"]] = api.ok("POST", "/api/users", json=body)["contact"]
    return made


def _message(api: Api, **over: Any) -> Any:
    body = {"name": "Welcome", "subject": "Hi {{name}}", "body": "b", "audience": TAGGED, **over}
    return api.ok("POST", "/api/messages", 201, json=body)


def test_unknown_placeholders_and_unclosed_braces_are_refused_on_their_field(api: Api) -> None:
    _people(api)
    response = api.request(
        "POST",
        "/api/messages",
        json={
            "name": "Bad",
            "subject": "Hi {{firstname}}",
            "body": "Your plan: {{custom.plna}}. Bye {{name",
            "audience": TAGGED,
        },
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"].startswith(
        "the subject and body have 3 problems; the first: subject: {{firstname}} is not a"
        " placeholder: use {{name}}, {{first_name}}, {{email}} or {{custom.<attribute>}}"
    )
    assert [(d["field"], d["message"].split(":")[0]) for d in error["details"]] == [
        ("subject", "{{firstname}} is not a placeholder"),
        ("body", "“{{name” is not closed"),
        ("body", "{{custom.plna}}"),
    ]
    assert "(did you mean {{custom.plan}}?); it has plan" in error["details"][2]["message"]
    assert api.ok("GET", "/api/messages")["data"] == []

    # The same check on an edit of the subject alone.
    message = _message(api)
    patched = api.request("PATCH", f"/api/messages/{message['id']}", json={"subject": "{{nme}}"})
    assert patched.status_code == 422
    assert patched.json()["error"]["details"][0]["field"] == "subject"
    assert api.ok("GET", f"/api/messages/{message['id']}")["subject"] == "Hi {{name}}"


def test_fallbacks_first_names_and_attributes_in_any_case_are_saved(api: Api) -> None:
    _people(api)
    message = _message(
        api,
        subject='Hi {{first_name | fallback: "there"}}',
        body="Plan {{ custom.PLAN|fallback:'free' }} for {{email}}",
    )
    assert message["version"] == 1 and message["status"] == "draft"


def test_a_preview_as_a_person_of_the_workspace(api: Api, client: Any) -> None:
    people = _people(api)
    body = {
        "subject": 'Hi {{first_name | fallback: "there"}}',
        "body": "Plan {{custom.plan}}, {{name}}",
    }
    zoe = api.ok(
        "POST",
        "/api/messages/preview",
        json={**body, "contact_id": people["zoe@example.com"]["id"]},
    )
    assert zoe == {
        "contact": {
            "id": people["zoe@example.com"]["id"],
            "email": "zoe@example.com",
            "name": "Zoe Patel",
        },
        "subject": "Hi Zoe",
        "body": "Plan pro, Zoe Patel",
        "missing": [],
    }
    anon = api.ok(
        "POST",
        "/api/messages/preview",
        json={**body, "contact_id": people["anon@example.com"]["id"]},
    )
    assert (anon["subject"], anon["body"]) == ("Hi there", "Plan , ")
    assert anon["missing"] == ["{{custom.plan}}", "{{name}}"]
    nobody = api.ok("POST", "/api/messages/preview", json=body)
    assert (nobody["contact"], nobody["subject"]) == (None, "Hi there")

    # Another workspace's person is not found; a bad template is refused as on saving.
    other = Api.new_workspace(http=client, name="other")
    stranger = other.ok("POST", "/api/users", json={"email": "s@example.com"})["contact"]
    missing = api.request(
        "POST", "/api/messages/preview", json={**body, "contact_id": stranger["id"]}
    )
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "contact not found")
    bad = api.request("POST", "/api/messages/preview", json={"body": "{{name"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "body"


def test_the_reach_of_going_live(api: Api, stack: Stack) -> None:
    people = _people(api)
    assert api.ok("POST", "/api/messages/reach", json={"audience": TAGGED}) == {
        "matching": 2,
        "already": 0,
        "reach": 2,
    }
    message = _message(api, type="auto")
    query(
        stack.dsn,
        "INSERT INTO deliveries (message_id, contact_id, workspace_id, status)"
        " VALUES ($1, $2, $3, 'delivered')",
        message["id"],
        people["zoe@example.com"]["id"],
        api.workspace_id,
    )
    reach = {"audience": TAGGED, "message_id": message["id"]}
    assert api.ok("POST", "/api/messages/reach", json=reach) == {
        "matching": 2,
        "already": 1,
        "reach": 1,
    }
    # A manual message goes out once: going live again reaches nobody new.
    manual = _message(api, type="manual", state="live")
    assert manual["status"] == "live" and manual["status_text"] == "Live — no deliveries yet"
    again = {"audience": TAGGED, "message_id": manual["id"]}
    assert api.ok("POST", "/api/messages/reach", json=again)["reach"] == 0
    bad = api.request("POST", "/api/messages/reach", json={"audience": {"field": "x"}})
    assert bad.status_code == 422


def test_an_edit_is_a_new_version_and_the_old_one_is_kept(api: Api) -> None:
    _people(api)
    message = _message(api)
    path = f"/api/messages/{message['id']}"
    renamed = api.ok("PATCH", path, json={"name": "Renamed", "subject": "Hi {{name}}"})
    assert renamed["version"] == 1  # a name, and the same subject: not new content
    edited = api.ok("PATCH", path, json={"subject": "Hello {{first_name}}", "body": "new"})
    assert (edited["version"], edited["subject"]) == (2, "Hello {{first_name}}")
    versions = api.ok("GET", f"{path}/versions")["data"]
    assert [(v["version"], v["current"], v["subject"], v["body"]) for v in versions] == [
        (2, True, "Hello {{first_name}}", "new"),
        (1, False, "Hi {{name}}", "b"),
    ]
    assert versions[1]["replaced_at"] == versions[0]["made_at"]
    assert versions[1]["made_at"] == message["created_at"]


def test_a_copy_is_a_draft_and_an_archived_message_is_hidden_until_restored(api: Api) -> None:
    _people(api)
    message = _message(api, type="manual", state="live", body="Plan {{custom.plan}}")
    path = f"/api/messages/{message['id']}"
    copy = api.ok("POST", f"{path}/duplicate", 201)
    assert (copy["name"], copy["state"], copy["status"], copy["activated_at"]) == (
        "Copy of Welcome",
        "paused",
        "draft",
        None,
    )
    assert (copy["body"], copy["audience"], copy["type"]) == (
        "Plan {{custom.plan}}",
        TAGGED,
        "manual",
    )

    archived = api.ok("PATCH", path, json={"state": "archived"})
    assert (archived["state"], archived["status_text"]) == ("archived", "Archived")
    assert [m["id"] for m in api.ok("GET", "/api/messages")["data"]] == [copy["id"]]
    assert [
        m["id"] for m in api.ok("GET", "/api/messages", params={"archived": "true"})["data"]
    ] == [message["id"]]
    for change in ({"state": "live"}, {"body": "x"}):
        refused = api.request("PATCH", path, json=change)
        assert refused.status_code == 409, change
        assert "is archived: restore it first" in refused.json()["error"]["message"]
    assert api.request("POST", f"{path}/retry").status_code == 409
    restored = api.ok("PATCH", path, json={"state": "paused"})
    assert (restored["state"], restored["status"]) == ("paused", "paused")
    assert len(api.ok("GET", "/api/messages")["data"]) == 2


def test_a_retry_requeues_the_failed_deliveries_once(api: Api, stack: Stack) -> None:
    people = _people(api)
    message = _message(
        api,
        type="manual",
        state="live",
        channel="webhook",
        webhook_url="https://hooks.example.com/h",
    )
    for email, status in (("zoe@example.com", "failed"), ("anon@example.com", "failed")):
        query(
            stack.dsn,
            "INSERT INTO deliveries (message_id, contact_id, workspace_id, status, reason)"
            " VALUES ($1, $2, $3, $4, 'SMTP server unreachable: SMTPConnectError(\"Error"
            " connecting to 127.0.0.1 on port 25: [Errno 111] Connect call failed\")')",
            message["id"],
            people[email]["id"],
            api.workspace_id,
            status,
        )
    path = f"/api/messages/{message['id']}"
    failed = api.ok("GET", path)
    assert (failed["status"], failed["status_text"]) == (
        "failed",
        "Failed — 2 of 2 deliveries failed",
    )
    assert failed["deliveries"] == {
        "pending": 0,
        "delivered": 0,
        "failed": 2,
        "cancelled": 0,
        "total": 2,
    }
    reasons = {d["reason"] for d in api.ok("GET", f"{path}/deliveries")["data"]}
    assert reasons == {"the mail server at 127.0.0.1:25 refused the connection"}  # an old raw one
    assert api.ok("POST", f"{path}/retry") == {"requeued": 2}
    assert api.ok("POST", f"{path}/retry") == {"requeued": 0}
    assert api.ok("GET", path)["status"] == "sending"


def test_test_sends_say_what_happened(api: Api) -> None:
    """No mail server listens in this tier: the answer is the sentence, not an error."""
    sent = api.ok(
        "POST",
        "/api/messages/test-send",
        json={
            "channel": "email",
            "subject": 'Hi {{name | fallback: "you"}}',
            "body": "b",
            "to": "me@example.com",
        },
    )
    assert sent["sent"] is False
    assert sent["detail"].startswith("the mail server at 127.0.0.1:") and sent["detail"].endswith(
        "refused the connection"
    )
    for body, message in (
        ({"channel": "in_app", "body": "b"}, "channel: an in-app message goes to an inbox"),
        ({"channel": "email", "body": "b"}, "to: give the address to send to"),
        ({"channel": "email", "body": "b", "to": "nope"}, "to: 'nope' is not a valid email"),
        (
            {"channel": "email", "body": "{{nme}}", "to": "a@b.io"},
            "body: {{nme}} is not a placeholder",
        ),
        (
            {"channel": "webhook", "body": "b", "webhook_url": "http://127.0.0.1:9/h"},
            "webhook_url: the address is not allowed",
        ),
    ):
        refused = api.request("POST", "/api/messages/test-send", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["message"].startswith(message), refused.text


def test_the_email_channel_says_why_it_cannot_be_chosen(api: Api) -> None:
    channels = {c["channel"]: c for c in api.ok("GET", "/api/channels")["data"]}
    assert channels["in_app"]["available"] and channels["webhook"]["available"]
    email = channels["email"]
    assert email["available"] is False
    assert email["problem"] == f"the mail server at {email['server']} refused the connection"


@pytest.mark.parametrize("path", ["/api/messages/nope", "/api/messages/nope/versions"])
def test_another_workspaces_message_is_not_found(api: Api, path: str) -> None:
    assert api.request("GET", path).status_code == 404
    for action in ("duplicate", "retry"):
        assert api.request("POST", f"/api/messages/nope/{action}").status_code == 404
