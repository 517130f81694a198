"""Limits a request meets in the app itself: the body size, the per-token rate, signed cursors."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from infra.stack import Stack
from services.upload.main import create_app
from tests.api.conftest import app_settings
from tests.support.api import Api


def test_json_body_limit(api: Api) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = api.request("POST", "/api/users", content=body)
    assert response.status_code == 413
    assert "larger than the limit of 1,048,576 bytes" in response.json()["error"]["message"]


def test_rate_limit_answers_429_with_retry_after(stack: Stack) -> None:
    """A per-token limit (USHER_RATE_LIMIT_PER_MINUTE), here 3 a minute."""
    with TestClient(create_app(app_settings(stack, rate_limit_per_minute=3))) as client:
        api = Api.new_workspace(http=client, name="limited")
        statuses = [api.request("GET", "/api/imports").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = api.request("GET", "/api/imports")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "too many requests" in limited.json()["error"]["message"]


def test_forged_cursors_are_422_not_500(api: Api) -> None:
    """Cursors are signed: only one Usher made is accepted; anything else is a 422 (probe M2:
    a forged cursor with a bad timestamp was a 500)."""
    forgeries = ("[1]", '["a"]', "{}", '"x"', "1", '["not-a-date", "x"]', '["99999-01-01", "x"]')
    for forged in forgeries:
        cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
        for path in ("/api/imports", "/api/messages", "/api/users", "/api/tags"):
            for attempt in (cursor, cursor + ".AAAAAAAAAAAAAAAAAAAAAA"):
                response = api.request("GET", path, params={"cursor": attempt})
                assert response.status_code == 422, (forged, path, response.status_code)
                assert "cursor is not valid" in response.json()["error"]["message"]
    for i in range(3):
        api.ok("POST", "/api/users", json={"email": f"page{i}@example.com"})
    first = api.ok("GET", "/api/users", params={"limit": 2})
    second = api.ok("GET", "/api/users", params={"limit": 2, "cursor": first["next_cursor"]})
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    mac = first["next_cursor"].partition(".")[2]
    other = base64.urlsafe_b64encode(b'"c_ffffffffffffffffffffffffffffffff"').decode().rstrip("=")
    tampered = api.request("GET", "/api/users", params={"cursor": f"{other}.{mac}"})
    assert tampered.status_code == 422
