"""schemathesis generates requests for every operation of the OpenAPI schema; none may answer
5xx, and every 4xx carries the error body."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.support.api import Api


def test_fuzzing_finds_no_server_errors(app: FastAPI, client: TestClient) -> None:
    token = Api.new_workspace(http=client, name="fuzz").token
    schema = schemathesis.openapi.from_dict(app.openapi())
    failures: list[str] = []
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/workspaces":
            continue

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            sent = case.as_transport_kwargs(base_url=str(client.base_url))
            sent.pop("cookies", None)
            sent["headers"]["Authorization"] = f"Bearer {token}"
            response = client.request(**sent)
            calls.append(response.status_code)
            where = f"{case.method} {case.formatted_path}: {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where} {response.text[:200]}")
            elif response.status_code >= 400 and not _error_body(case.path, response.json()):
                failures.append(f"{where} without an error body: {response.text[:200]}")

        run()
    assert not failures, failures
    assert len(calls) > 200 and any(c < 300 for c in calls), len(calls)


def _error_body(path: str, body: Any) -> bool:
    """Usher's error shape, or the vendor's on a compatible API (Segment's library reads
    ``code`` and ``message``; Intercom's SDK an ``error.list``)."""
    if path.startswith("/segment/"):
        return isinstance(body, dict) and {"code", "message"} <= set(body)
    if path.startswith("/intercom/"):
        errors = body.get("errors") if isinstance(body, dict) else None
        return (
            body.get("type") == "error.list"
            and isinstance(errors, list)
            and all({"code", "message"} <= set(e) for e in errors)
        )
    return isinstance(body, dict) and "error" in body
