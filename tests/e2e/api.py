"""A small client for driving Usher over HTTP in tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

ADMIN = "test-admin-token"


class Api:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.token = token
        self.workspace: dict[str, Any] = {}

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    @classmethod
    def new_workspace(cls, base_url: str, name: str = "Test") -> Api:
        response = httpx.post(
            f"{base_url}/api/workspaces",
            json={"name": name},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert response.status_code == 201, response.text
        api = cls(base_url, response.json()["token"])
        api.workspace = response.json()
        return api

    def upload(self, content: bytes, name: str = "people.csv", source: str | None = None) -> Any:
        data = {"source": source} if source else None
        return self.ok("POST", "/api/imports", 201, files={"file": (name, content)}, data=data)

    def start(self, import_id: str, **body: Any) -> Any:
        return self.ok("POST", f"/api/imports/{import_id}/start", 202, json=body)

    def wait(self, import_id: str, timeout_s: float = 120) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            current = self.ok("GET", f"/api/imports/{import_id}")
            if current["status"] in ("completed", "failed"):
                return current
            time.sleep(0.2)
        raise AssertionError(f"import {import_id} did not finish: {current}")

    def import_csv(self, content: bytes, **body: Any) -> Any:
        uploaded = self.upload(content)
        self.start(uploaded["id"], **body)
        return self.wait(uploaded["id"])

    def all_users(self, **params: Any) -> list[Any]:
        out: list[Any] = []
        cursor = None
        while True:
            query = {**params, "limit": 1000}
            if cursor:
                query["cursor"] = cursor
            page = self.ok("GET", "/api/users", params=query)
            out.extend(page["data"])
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def wait_for(self, probe: Any, expected: Any, timeout_s: float = 60) -> Any:
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            value = probe()
            if value == expected:
                return value
            time.sleep(0.25)
        return value
