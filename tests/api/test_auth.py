"""Every route needs a token, the admin route the admin token; unknown ids answer 404 with the
error body; GET /api/meta alone is public."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from tests.support.api import ADMIN, Api, minimal_body

ID_PARAM = re.compile(r"\{[^}]+\}")
PUBLIC = {("GET", "/api/meta")}  # the product's rules: no data in it


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every API operation the OpenAPI schema lists."""
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if path.startswith("/api")
    ]


def test_every_route_needs_a_token(app: FastAPI, anonymous: Api) -> None:
    found = routes(app)
    assert len(found) >= 15
    for method, path in found:
        if (method, path) in PUBLIC:
            assert anonymous.request(method, path).status_code == 200
            continue
        url = ID_PARAM.sub("x", path)
        response = anonymous.request(method, url, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "unauthorized"
        bad = anonymous.request(method, url, json={}, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401, (method, path, bad.status_code)


def test_admin_route_needs_the_admin_token(anonymous: Api, api: Api) -> None:
    body = {"name": "x"}
    assert anonymous.request("POST", "/api/workspaces", json=body).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert anonymous.request("POST", "/api/workspaces", json=body, headers=wrong).status_code == 401
    assert api.request("POST", "/api/workspaces", json=body).status_code == 401  # a workspace's
    admin = {"Authorization": f"Bearer {ADMIN}"}
    made = anonymous.request("POST", "/api/workspaces", json=body, headers=admin)
    assert made.status_code == 201 and made.json()["token"]


def test_unknown_ids_in_ones_own_workspace_answer_404_with_what_was_missing(
    app: FastAPI, api: Api
) -> None:
    checked = 0
    for method, path in routes(app):
        if not ID_PARAM.search(path):
            continue
        url = ID_PARAM.sub("nothing_here", path)
        body = minimal_body(path)
        response = api.request(method, url, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] == "not_found" and error["message"].endswith("not found"), error
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing"), ("DELETE", "/api/imports"), ("PUT", "/api/users")],
)
def test_unknown_routes_and_methods_answer_with_the_error_body(
    api: Api, method: str, path: str
) -> None:
    response = api.request(method, path)
    assert response.status_code in (404, 405), response.text
    assert response.json()["error"]["code"] in ("not_found", "method_not_allowed")
