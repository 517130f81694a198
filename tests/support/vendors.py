"""Loopback stand-ins for the MailChimp Marketing API v3 and the Mixpanel Query API.

Real HTTP servers (aiohttp, in a thread) that follow the vendors' documented shapes: the
request (paths, basic auth, paging parameters), the page bodies, and the error bodies
(MailChimp: ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``,
``instance``; Mixpanel: ``{"error": "...", "status": "error"}``). Tests script faults (a 429 or
a 5xx in the middle, a slow page) and read what the client sent.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.env import FAKES_HOST

MAILCHIMP_ERRORS = "https://mailchimp.com/developer/marketing/docs/errors/"


def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


@dataclass
class Fault:
    """Answer ``status`` (with ``retry_after``) ``times`` times for matching requests."""

    status: int
    times: int = 1
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass
class Server:
    """Common plumbing: a thread with an event loop running one aiohttp app."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    answered: Counter[int] = field(default_factory=Counter)
    active: int = 0
    max_active: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{FAKES_HOST}:{self.port}"

    def app(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self.app(), access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, FAKES_HOST, 0)
            loop.run_until_complete(site.start())
            self._runner = runner
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @web.middleware
    async def track(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            response = await handler(request)
        finally:
            self.active -= 1
        self.answered[response.status] += 1
        return response


# -- MailChimp -------------------------------------------------------------------------------


def mailchimp_member(i: int, list_id: str, **overrides: Any) -> dict[str, Any]:
    """A list member as ``GET /3.0/lists/{list_id}/members`` returns it."""
    member: dict[str, Any] = {
        "id": uuid.uuid5(uuid.NAMESPACE_DNS, f"m{i}").hex,
        "email_address": f"member{i}@example.com",
        "unique_email_id": uuid.uuid5(uuid.NAMESPACE_DNS, f"u{i}").hex[:10],
        "contact_id": uuid.uuid5(uuid.NAMESPACE_DNS, f"c{i}").hex,
        "full_name": f"First{i} Last{i}",
        "web_id": 1000 + i,
        "email_type": "html",
        "status": "subscribed",
        "consents_to_one_to_one_messaging": True,
        "merge_fields": {
            "FNAME": f"First{i}",
            "LNAME": f"Last{i}",
            "ADDRESS": "",
            "PHONE": f"+1 415 555 {i % 10000:04d}",
            "BIRTHDAY": "",
        },
        "interests": {},
        "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        "ip_signup": "",
        "timestamp_signup": "",
        "ip_opt": f"198.51.100.{i % 250 + 1}",
        "timestamp_opt": "2023-01-05T14:03:22+00:00",
        "member_rating": 2,
        "last_changed": "2023-01-05T14:03:22+00:00",
        "language": "",
        "vip": False,
        "email_client": "",
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0},
        "marketing_permissions": [],
        "last_note": {},
        "source": "API - Generic",
        "tags_count": 1,
        "tags": [{"id": 101, "name": "Customer"}],
        "list_id": list_id,
        "_links": [],
    }
    member.update(overrides)
    return member


class FakeMailchimp(Server):
    """``GET /3.0/lists/{list_id}/members`` with basic auth (any user, the key as password)."""

    def __init__(self, api_key: str, lists: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.api_key = api_key
        self.lists = lists
        self.faults: dict[int, Fault] = {}  # by offset
        self.delay_s = 0.0
        self.broken_gzip = False  # answer "Content-Encoding: gzip" with a body that is not

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.track])
        app.router.add_get("/3.0/lists/{list_id}/members", self.members)
        return app

    def problem(self, status: int, title: str, detail: str, **headers: str) -> web.Response:
        return web.json_response(
            {
                "type": MAILCHIMP_ERRORS,
                "title": title,
                "status": status,
                "detail": detail,
                "instance": str(uuid.uuid4()),
            },
            status=status,
            content_type="application/problem+json",
            headers=headers,
        )

    async def members(self, request: web.Request) -> web.Response:
        query = request.rel_url.query
        auth = _basic(request)
        self.requests.append(
            {"path": request.path, "query": dict(query), "auth_user": auth and auth[0]}
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if auth is None or auth[1] != self.api_key:
            return self.problem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        members = self.lists.get(request.match_info["list_id"])
        if members is None:
            return self.problem(
                404, "Resource Not Found", "The requested resource could not be found."
            )
        count = min(int(query.get("count", "10")), 1000)
        offset = int(query.get("offset", "0"))
        fault = self.faults.get(offset)
        if fault is not None and fault.times > 0:
            fault.times -= 1
            await asyncio.sleep(fault.delay_s)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.status == 429:
                return self.problem(
                    429,
                    "Too Many Requests",
                    "You have exceeded the limit of 10 simultaneous connections.",
                    **headers,
                )
            return self.problem(
                fault.status, "Internal Server Error", "An unexpected error occurred.", **headers
            )
        if self.broken_gzip:
            return web.Response(
                body=b'{"members": []}',
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        status = query.get("status")
        if status:
            members = [m for m in members if m["status"] == status]
        return web.json_response(
            {
                "members": members[offset : offset + count],
                "list_id": request.match_info["list_id"],
                "total_items": len(members),
                "_links": [],
            }
        )


# -- Mixpanel --------------------------------------------------------------------------------


def mixpanel_profile(i: int, **properties: Any) -> dict[str, Any]:
    """A profile as the engage endpoint returns it."""
    props: dict[str, Any] = {
        "$email": f"person{i}@example.com",
        "$first_name": f"Ann{i}",
        "$last_name": f"Lee{i}",
        "$created": "2022-03-04T05:06:07",
        "$last_seen": "2024-01-02T03:04:05",
        "$city": "Berlin",
        "$timezone": "Europe/Berlin",
        "plan": "pro" if i % 2 else "free",
        "seats": i % 7 + 1,
        "beta": i % 3 == 0,
    }
    props.update(properties)
    return {"$distinct_id": f"mp-{i}", "$properties": props}


class FakeMixpanel(Server):
    """``POST /api/query/engage?project_id=…`` with service-account basic auth."""

    def __init__(self, username: str, secret: str, projects: dict[str, list[Any]]) -> None:
        super().__init__()
        self.username = username
        self.secret = secret
        self.projects = projects
        self.page_size = 1000
        self.faults: dict[int, Fault] = {}  # by page
        self.sessions: dict[str, str] = {}  # session id -> project
        self.forget_sessions = False

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.track])
        app.router.add_post("/api/query/engage", self.engage)
        return app

    @staticmethod
    def error(status: int, message: str, **headers: str) -> web.Response:
        return web.json_response(
            {"error": message, "status": "error"}, status=status, headers=headers
        )

    async def engage(self, request: web.Request) -> web.Response:
        form = await request.post()
        project = request.rel_url.query.get("project_id", "")
        auth = _basic(request)
        session = form.get("session_id")
        page = int(str(form.get("page", "0")))
        self.requests.append(
            {
                "project_id": project,
                "session_id": session,
                "page": page,
                "auth_user": auth and auth[0],
                "content_type": request.content_type,
            }
        )
        if auth != (self.username, self.secret):
            return self.error(401, "Unable to authenticate request")
        profiles = self.projects.get(project)
        if profiles is None:
            return self.error(403, f"You do not have access to project {project}.")
        fault = self.faults.get(page)
        if fault is not None and fault.times > 0:
            fault.times -= 1
            await asyncio.sleep(fault.delay_s)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.status == 429:
                return self.error(429, "Query rate limit exceeded", **headers)
            return self.error(fault.status, "Internal server error", **headers)
        if session is None:
            session = f"{uuid.uuid4().int % 10**10}-EXAMPL"
            self.sessions[str(session)] = project
        elif self.forget_sessions or self.sessions.get(str(session)) != project:
            return self.error(400, "Invalid session_id")
        start = page * self.page_size
        body: dict[str, Any] = {
            "page": page,
            "page_size": self.page_size,
            "session_id": session,
            "status": "ok",
            "results": profiles[start : start + self.page_size],
        }
        if page == 0:
            body["total"] = len(profiles)
        return web.json_response(body)
