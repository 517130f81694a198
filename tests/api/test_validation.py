"""Bad requests get a 422 whose message says what to fix, in the one error body
``{"error": {"code", "message", "details"?}}``; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api

NOT_JSON = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
FIELDS = "use one of id, role, email, user_id, name"


@pytest.mark.parametrize(
    ("method", "path", "request_", "message"),
    [
        ("POST", "/api/users", {"json": {}}, "a contact needs an email or a user_id"),
        ("POST", "/api/users", {"json": {"email": "nope"}}, "'nope' is not a valid email"),
        ("POST", "/api/users", NOT_JSON, "the body is not valid JSON"),
        ("POST", "/api/users", {"json": {"email": "a@b.io", "role": "x"}}, "'user' or 'lead'"),
        ("POST", "/api/messages", {"json": {"name": "m"}}, "audience: Field required"),
        (
            "POST",
            "/api/messages",
            {"json": {"name": "m", "audience": {"field": "email", "op": "wat", "value": 1}}},
            "unknown op 'wat'; use one of eq, ne",
        ),
        (
            "POST",
            "/api/messages",
            {"json": {"name": "m", "channel": "pigeon", "audience": {"and": []}}},
            "channel: Input should be 'in_app', 'email' or 'webhook'",
        ),
        ("GET", "/api/users", {"params": {"limit": 0}}, "limit must be between 1 and 1000"),
        ("GET", "/api/users", {"params": {"limit": 10**5}}, "limit must be between 1 and 1000"),
        (
            "POST",
            "/api/audiences/count",
            {"json": {"filter": {"field": "nope", "op": "eq", "value": 1}}},
            f"unknown field 'nope'; {FIELDS}",
        ),
        ("POST", "/api/imports", {"data": {"x": "y"}}, "a part named 'file'"),
        (
            "POST",
            "/api/events",
            {"json": {"event_name": "e", "created_at": "yesterday", "email": "a@b.io"}},
            "'yesterday' is not a date: use DD/MM/YYYY, ISO 8601",
        ),
        (
            "POST",
            "/api/segments",
            {"json": {"name": "", "filter": {"and": []}}},
            "name: String should have at least 1 character",
        ),
    ],
)
def test_a_bad_request_says_what_to_fix(
    api: Api, method: str, path: str, request_: dict[str, Any], message: str
) -> None:
    response = api.request(method, path, **request_)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and message in error["message"], error
    assert api.ok("GET", "/api/users")["data"] == []
    assert api.ok("GET", "/api/messages")["data"] == []


@pytest.fixture
def uploaded(api: Api) -> str:
    """An uploaded CSV (email, name, plan), not started."""
    return str(api.upload(b"email,name,plan\na@b.io,Ann,pro\n")["id"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mapping": {"name": "name"}}, "mapping.email is required: choose the column"),
        ({"mapping": {"email": "nosuch"}}, "mapping.email: the file has no column 'nosuch'"),
        ({"kind": "robots", "mapping": {"email": "email"}}, "'users' or 'leads'"),
        (
            {"mapping": {"email": "email"}, "custom_attributes": {"nosuch": "plan"}},
            "custom_attributes: the file has no column 'nosuch'",
        ),
    ],
)
def test_an_import_that_cannot_start_says_why_and_stays_uploaded(
    api: Api, uploaded: str, body: dict[str, Any], message: str
) -> None:
    response = api.request("POST", f"/api/imports/{uploaded}/start", json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert api.status(uploaded)["status"] == "uploaded"


def test_a_started_import_cannot_start_again(api: Api, uploaded: str) -> None:
    queued = api.start(uploaded, mapping={"email": "email"})
    assert queued["status"] == "queued"
    again = api.request(
        "POST", f"/api/imports/{uploaded}/start", json={"mapping": {"email": "email"}}
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"
