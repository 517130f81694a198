"""The one client that drives Usher over its HTTP API: tests, the benchmarks and the chaos run.

It speaks to a running upload service (``Api(base_url)``) or to the app in-process
(``Api(http=TestClient(app))``, the API tier): both are ``httpx.Client``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ADMIN = "test-admin-token"  # USHER_ADMIN_TOKEN of the test stack
DONE = ("completed", "previewed", "failed", "cancelled")
# The smallest valid body of the routes that refuse an empty one before looking up their id.
_MINIMAL_BODIES = {"/start": {"mapping": {"email": "email"}}, "/resolve": {"action": "dismiss"}}


def big_csv(rows: int) -> bytes:
    """A CSV file of ``rows`` new people (email, user_id): an import that takes its time."""
    return ("email,user_id\n" + "".join(f"big{i}@example.com,b{i}\n" for i in range(rows))).encode()


def minimal_body(path: str) -> dict[str, Any]:
    """A body a route at ``path`` accepts as valid (the id may still be unknown)."""
    return next((b for end, b in _MINIMAL_BODIES.items() if path.endswith(end)), {})


class Api:
    """One workspace's view of Usher (or the admin's, with ``token=None``)."""

    def __init__(
        self,
        base_url: str = "",
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout_s: float = 60,
    ) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout_s)
        self.token = token
        self.workspace: dict[str, Any] = {}

    @classmethod
    def new_workspace(
        cls,
        base_url: str = "",
        name: str = "Test",
        *,
        admin: str = ADMIN,
        http: httpx.Client | None = None,
        timeout_s: float = 60,
    ) -> Api:
        """A new workspace (``POST /api/workspaces`` with the admin token), signed in."""
        api = cls(base_url, http=http, timeout_s=timeout_s)
        made = api.http.post(
            "/api/workspaces", json={"name": name}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert made.status_code == 201, made.text
        api.workspace = made.json()
        api.token = api.workspace["token"]
        return api

    @property
    def workspace_id(self) -> str:
        return str(self.workspace["id"])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """The JSON body of a request that must answer ``status``."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    def post_raw(self, path: str, body: bytes, content_type: str, **params: Any) -> httpx.Response:
        """POST a raw body with its content type (``request`` sends JSON or forms)."""
        return self.request(
            "POST", path, content=body, headers={"Content-Type": content_type}, params=params
        )

    # -- imports ------------------------------------------------------------------------------

    def upload(
        self, content: bytes | Path, name: str | None = None, source: str | None = None
    ) -> Any:
        """``POST /api/imports`` of bytes or of a file (streamed from disk); the import."""
        data = {"source": source} if source else None
        files: dict[str, Any]
        if isinstance(content, Path):
            with content.open("rb") as fh:
                files = {"file": (name or content.name, fh, "text/csv")}
                return self.ok("POST", "/api/imports", 201, files=files, data=data)
        files = {"file": (name or "people.csv", content)}
        return self.ok("POST", "/api/imports", 201, files=files, data=data)

    def start(self, import_id: str, **body: Any) -> Any:
        """``POST /api/imports/{id}/start``; without ``body``, none is sent (a previewed import
        is committed with its dry run's options)."""
        return self.ok("POST", f"/api/imports/{import_id}/start", 202, json=body or None)

    def dry_run(self, import_id: str, **body: Any) -> Any:
        return self.ok("POST", f"/api/imports/{import_id}/dry-run", 202, json=body)

    def diff(self, import_id: str, **params: Any) -> list[Any]:
        """Every page of ``GET /api/imports/{id}/diff``."""
        return self.pages(f"/api/imports/{import_id}/diff", **params)

    def pages(self, path: str, **params: Any) -> list[Any]:
        """Every item of a paginated list."""
        out: list[Any] = []
        cursor = None
        while True:
            query = {"limit": 1000, **params}
            if cursor:
                query["cursor"] = cursor
            page = self.ok("GET", path, params=query)
            out.extend(page["data"])
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def status(self, import_id: str) -> Any:
        return self.ok("GET", f"/api/imports/{import_id}")

    def wait(
        self,
        import_id: str,
        timeout_s: float = 120,
        *,
        poll_s: float | Callable[[Any], float] = 0.2,
        seen: Callable[[Any], None] | None = None,
        strict: bool = True,
    ) -> Any:
        """The import once it completed or failed; ``seen`` gets every state polled, and
        ``poll_s`` is the time between polls (or gives it, from the state polled). At the
        deadline: an AssertionError, or (``strict=False``) the last state."""
        deadline = time.monotonic() + timeout_s
        while True:
            current = self.status(import_id)
            if seen is not None:
                seen(current)
            if current["status"] in DONE:
                return current
            if time.monotonic() > deadline:
                if strict:
                    raise AssertionError(f"import {import_id} did not finish: {current}")
                return current
            time.sleep(poll_s(current) if callable(poll_s) else poll_s)

    def import_csv(self, content: bytes | Path, timeout_s: float = 120, **body: Any) -> Any:
        """Upload, start with ``body`` and wait: the finished import."""
        uploaded = self.upload(content)
        self.start(uploaded["id"], **body)
        return self.wait(uploaded["id"], timeout_s)

    # -- people and messages ------------------------------------------------------------------

    def all_users(self, **params: Any) -> list[Any]:
        """Every page of ``GET /api/users``."""
        return self.pages("/api/users", **params)

    def day_entry(self, source: str) -> Any:
        """The compatible API ``source``'s entry of the history (one rolling entry a day), or
        None before it received anything."""
        entries = [i for i in self.pages("/api/imports") if i["source"] == source]
        assert len(entries) <= 1, entries
        return entries[0] if entries else None

    def new_message(self, **body: Any) -> Any:
        """``POST /api/messages``; the message made."""
        return self.ok("POST", "/api/messages", 201, json=body)

    def pro_message(self, name: str = "Pro welcome") -> Any:
        """A live in-app auto message "Hi {{name}}" to the people whose plan is pro."""
        return self.new_message(
            name=name,
            type="auto",
            channel="in_app",
            subject="Welcome",
            body="Hi {{name}}",
            audience={"field": "custom.plan", "op": "eq", "value": "pro"},
            state="live",
        )

    @staticmethod
    def wait_for(probe: Callable[[], Any], expected: Any, timeout_s: float = 60) -> Any:
        """``probe()`` until it returns ``expected`` or the time is up; its last value."""
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            value = probe()
            if value == expected:
                return value
            time.sleep(0.25)
        return value
