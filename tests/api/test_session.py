"""The web UI's session (services/upload/sessions.py): the token exchanged once for an
HttpOnly, SameSite=Strict cookie; requests that change something need the CSRF header; signing
out ends the session everywhere; API clients with a Bearer token are unaffected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.support.api import Api


def sign_in(client: TestClient, token: str) -> dict:  # type: ignore[type-arg]
    client.cookies.clear()
    response = client.post("/api/session", json={"token": token})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_sign_in_sets_an_httponly_strict_cookie(client: TestClient, api: Api) -> None:
    client.cookies.clear()
    response = client.post("/api/session", json={"token": api.token})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("usher_session=")
    for part in ("HttpOnly", "SameSite=strict", "Path=/api"):
        assert part.lower() in cookie.lower(), cookie
    assert (
        "expires" not in cookie.lower() and "max-age" not in cookie.lower()
    )  # the browser's session
    assert api.token not in cookie
    body = response.json()
    assert body["workspace"]["id"] == api.workspace_id and body["csrf_token"]
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)

    # The cookie alone reads; with the CSRF header it writes; without it, 403.
    me = client.get("/api/session")
    assert me.status_code == 200 and me.json()["csrf_token"] == body["csrf_token"]
    assert me.json()["workspace"]["name"] == body["workspace"]["name"]
    assert client.get("/api/users").status_code == 200
    refused = client.post("/api/users", json={"email": "a@example.com"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf"
    assert "X-Usher-CSRF" in refused.json()["error"]["message"]
    wrong = client.post(
        "/api/users", json={"email": "a@example.com"}, headers={"X-Usher-CSRF": "nope"}
    )
    assert wrong.status_code == 403
    made = client.post(
        "/api/users", json={"email": "a@example.com"}, headers={"X-Usher-CSRF": body["csrf_token"]}
    )
    assert made.status_code == 200, made.text
    assert api.all_users(email="a@example.com")  # the same workspace through the Bearer token
    client.cookies.clear()


def test_signing_out_ends_the_session(client: TestClient, api: Api) -> None:
    body = sign_in(client, api.token)
    cookie = client.cookies.get("usher_session")
    out = client.delete("/api/session", headers={"X-Usher-CSRF": body["csrf_token"]})
    assert out.status_code == 200 and out.json() == {"signed_out": True}
    assert (
        'usher_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    )
    # Another tab still holding the cookie is signed out too.
    client.cookies.set("usher_session", cookie or "", path="/api")
    again = client.get("/api/users")
    assert again.status_code == 401
    assert "session has ended" in again.json()["error"]["message"]
    client.cookies.clear()


def test_wrong_tokens_and_cookies_are_refused(client: TestClient, api: Api) -> None:
    client.cookies.clear()
    for body in ({"token": "wsk_nope"}, {}, {"token": 3}):
        response = client.post("/api/session", json=body)
        assert response.status_code == 401, body
        assert response.json()["error"]["code"] == "unauthorized"
    assert client.post("/api/session", content=b"{").status_code == 401
    client.cookies.set("usher_session", "forged", path="/api")
    assert client.get("/api/users").status_code == 401
    # A Bearer token wins over a cookie, and needs no CSRF header.
    made = client.post(
        "/api/users",
        json={"email": "b@example.com"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert made.status_code == 200
    client.cookies.clear()
    assert client.get("/api/session", headers=api.headers()).json()["csrf_token"] is None


def test_another_workspace_is_not_reached_through_a_session(client: TestClient, api: Api) -> None:
    other = Api.new_workspace(http=client, name="other")
    contact = other.ok("POST", "/api/users", json={"email": "o@example.com"})["contact"]
    sign_in(client, api.token)
    assert client.get(f"/api/users/{contact['id']}").status_code == 404
    client.cookies.clear()
