"""Every route needs a token; other workspaces' ids answer 404; limits; no 5xx under fuzzing."""

from __future__ import annotations

import re

import httpx
import pytest
import schemathesis

from tests.e2e.api import ADMIN, Api

ID_PARAM = re.compile(r"\{[^}]+\}")


def _routes(services) -> list[tuple[str, str]]:
    schema = httpx.get(f"{services.base_url}/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api")
    ]


PUBLIC = {("GET", "/api/meta")}  # the product's rules: no data in it


def test_every_route_needs_a_token(services) -> None:
    routes = _routes(services)
    assert len(routes) >= 15
    for method, path in routes:
        if (method, path) in PUBLIC:
            assert httpx.request(method, services.base_url + path).status_code == 200
            continue
        url = services.base_url + ID_PARAM.sub("x", path)
        response = httpx.request(method, url, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "unauthorized"
        bad = httpx.request(method, url, json={}, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401, (method, path, bad.status_code)


def test_other_workspaces_ids_answer_404(services) -> None:
    owner = Api.new_workspace(services.base_url, "owner")
    other = Api.new_workspace(services.base_url, "other")
    done = owner.import_csv(
        b"email,user_id\nmine@example.com,shared-id\n",
        mapping={"email": "email", "user_id": "user_id"},
    )
    person = owner.all_users()[0]
    message = owner.ok(
        "POST",
        "/api/messages",
        201,
        json={"name": "m", "audience": {"field": "role", "op": "eq", "value": "user"}},
    )
    segment = owner.ok(
        "POST",
        "/api/segments",
        201,
        json={"name": "s", "filter": {"field": "role", "op": "eq", "value": "user"}},
    )
    ids = {
        "import_id": done["id"],
        "contact_id": person["id"],
        "message_id": message["id"],
        "segment_id": segment["id"],
        "id": person["id"],
    }
    checked = 0
    for method, path in _routes(services):
        names = ID_PARAM.findall(path)
        if not names:
            continue
        url = path
        for name in names:
            url = url.replace(name, ids.get(name.strip("{}"), person["id"]))
        body = {"mapping": {"email": "email"}} if path.endswith("/start") else {}
        response = other.request(method, url, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        checked += 1
    assert checked >= 8
    # The same email and user_id in another workspace is another person.
    other.import_csv(
        b"email,user_id\nmine@example.com,shared-id\n",
        mapping={"email": "email", "user_id": "user_id"},
    )
    assert owner.all_users()[0]["id"] == person["id"]
    assert other.all_users()[0]["id"] != person["id"]


def test_admin_route_needs_the_admin_token(services) -> None:
    url = f"{services.base_url}/api/workspaces"
    assert httpx.post(url, json={"name": "x"}).status_code == 401
    assert (
        httpx.post(url, json={"name": "x"}, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    workspace = Api.new_workspace(services.base_url)
    response = httpx.post(
        url, json={"name": "x"}, headers={"Authorization": f"Bearer {workspace.token}"}
    )
    assert response.status_code == 401
    assert (
        httpx.post(
            url, json={"name": "x"}, headers={"Authorization": f"Bearer {ADMIN}"}
        ).status_code
        == 201
    )


def test_json_body_limit(services) -> None:
    api = Api.new_workspace(services.base_url)
    response = api.request("POST", "/api/users", content=b"{" + b" " * (65 * 1024 * 1024) + b"}")
    assert response.status_code == 413


@pytest.fixture(scope="module")
def api_schema(services):
    token = Api.new_workspace(services.base_url, "fuzz").token
    schema = schemathesis.openapi.from_url(f"{services.base_url}/openapi.json")
    schema.config.headers = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
    return schema, token


def test_fuzzing_finds_no_server_errors(services, api_schema) -> None:
    """schemathesis generates requests for every operation; none may answer 5xx."""
    schema, token = api_schema
    from hypothesis import HealthCheck, given, settings

    failures: list[str] = []
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/workspaces":
            continue

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(
                base_url=services.base_url, headers={"Authorization": f"Bearer {token}"}
            )
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code}"
                    f" {response.text[:200]}"
                )

        run()
    assert not failures, failures
    assert len(calls) > 200 and any(c < 300 for c in calls), len(calls)


def test_rate_limit_answers_429_with_retry_after(stack) -> None:
    """A per-token limit (USHER_RATE_LIMIT_PER_MINUTE), here 3 a minute, on the real app."""
    from fastapi.testclient import TestClient

    from services.upload.main import create_app

    settings = stack.settings().model_copy(
        update={"rate_limit_per_minute": 3, "admin_token": ADMIN}
    )
    with TestClient(create_app(settings)) as client:
        token = client.post(
            "/api/workspaces",
            json={"name": "limited"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        statuses = [client.get("/api/imports", headers=auth).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/imports", headers=auth)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "too many requests" in limited.json()["error"]["message"]


def test_forged_cursors_are_422_not_500(services) -> None:
    """Cursors are signed: only one Usher made is accepted; anything else is a 422 (probe M2:
    a forged cursor with a bad timestamp was a 500)."""
    import base64

    api = Api.new_workspace(services.base_url, "cursors")
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
