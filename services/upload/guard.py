"""The gate every HTTP request passes before the app reads any of it (an ASGI middleware).

In order:

1. every response gets ``X-Content-Type-Options: nosniff``, a ``frame-ancestors 'none'`` CSP
   and ``X-Frame-Options: DENY`` (the UI cannot be framed), ``Referrer-Policy: no-referrer``;
2. a path with a NUL character is 404 (no id holds one), a query string with one is 422;
3. a body declared larger than its route's limit is 413 at once, before a byte is read;
4. the client address's rate limit (429 with ``Retry-After``);
5. authentication — the admin token for ``POST /api/workspaces``, a workspace token for every
   other ``/api`` route (or, without an ``Authorization`` header, the web UI's session cookie
   and, on a request that changes something, its CSRF header: ``services.upload.sessions``) —
   with the token looked up before the body is read; a client that sent too many wrong
   tokens gets 429 before the next one is looked up;
6. the body is handed to the app as it arrives, counted: past the route's limit the app is
   stopped and the answer is 413 (chunked bodies too);
7. a client that goes away stops its request's work: the app is cancelled, and so is the query
   it was running (asyncpg cancels it in PostgreSQL).

Route limits: uploads (``POST /api/imports``) and ``POST /api/users/bulk`` take
``USHER_MAX_UPLOAD_BYTES``, ``POST /api/events/bulk`` takes ``USHER_MAX_JSON_BYTES``, Segment's
routes (``/segment/``) 500 KB, every other body ``USHER_MAX_REQUEST_BYTES`` (1 MiB). Segment's
write key is Basic auth (checked here) or the body's ``writeKey`` (checked by its route);
Intercom's routes (``/intercom/``) take a workspace token as Bearer, and their errors, these
included, have Intercom's shape (``errors.answer``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from services.upload import auth, errors, sessions, storage
from services.upload.errors import ApiError
from shared.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SEGMENT_MAX_BYTES = 500 * 1024  # a Segment request (the vendor's own limit), gzip or not

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]


@dataclass(frozen=True)
class Rule:
    """What a route needs before its body is read."""

    auth: Literal["none", "admin", "workspace", "segment"]
    limit: int  # bytes of body


def rule_for(method: str, path: str, settings: Settings) -> Rule:
    """The authentication and body limit of a request (one table for every route)."""
    request = settings.max_request_bytes
    if path.startswith("/segment/"):
        return Rule("segment", SEGMENT_MAX_BYTES)
    if path.startswith(errors.INTERCOM_PREFIX):
        return Rule("workspace", request)
    if (path != "/api" and not path.startswith("/api/")) or path == "/api/meta":
        return Rule("none", request)
    if path == "/api/workspaces":
        return Rule("admin", request)
    if method == "POST" and path == "/api/session":
        return Rule("none", request)  # a sign-in: the route checks the token in the body
    if method == "POST" and path == "/api/imports":
        return Rule("workspace", settings.max_upload_bytes + storage.MULTIPART_OVERHEAD)
    if method == "POST" and path == "/api/users/bulk":
        return Rule("workspace", settings.max_upload_bytes)
    if method == "POST" and path == "/api/events/bulk":
        return Rule("workspace", settings.max_json_bytes)
    return Rule("workspace", request)


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the request body is larger than the limit of {limit:,} bytes for this route",
        {"max_bytes": limit},
    )


class _TooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False}

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            limit = await self._admit(scope)
        except ApiError as exc:
            await _answer(send_secured, exc, scope["path"])
            return
        await self._run(scope, receive, send_secured, limit, state)

    async def _admit(self, scope: Scope) -> int:
        """Steps 2–5 of the module docstring; the route's body limit, or ApiError."""
        app = scope["app"]
        settings: Settings = app.state.settings
        limits: auth.Limits = app.state.limits
        path: str = scope["path"]
        if "\x00" in path:
            raise ApiError(404, "not_found", "not found")
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            raise ApiError(422, "invalid", "a query parameter contains a NUL character")
        rule = rule_for(scope["method"], path, settings)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > rule.limit:
            raise too_large(rule.limit)
        client = (scope.get("client") or ("unknown", 0))[0]
        limits.per_address.check(client)
        if rule.auth == "none":
            return rule.limit
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        state = scope.setdefault("state", {})
        if rule.auth == "workspace" and not authorization and path.startswith("/api/"):
            cookie = sessions.cookie_of(headers.get(b"cookie", b""))
            if cookie is not None:  # the web UI's session (services.upload.sessions)
                workspace, csrf = await sessions.workspace_of(
                    app.state.pool, limits, client, cookie
                )
                sent = headers.get(sessions.CSRF_HEADER.lower().encode(), b"").decode("latin-1")
                sessions.check_csrf(scope["method"], sent, csrf)
                state["workspace"] = workspace
                state["session"] = (cookie, csrf)
                return rule.limit
        if rule.auth == "segment":
            key = auth.basic_key(authorization)
            if key is None:
                return rule.limit  # the write key is in the body: the route checks it
            token = key
        else:
            what = "admin token" if rule.auth == "admin" else "workspace token"
            token = auth.bearer(authorization, what)
        if rule.auth == "admin":
            limits.failures.check_left(client)
            try:
                auth.check_admin(settings, token)
            except ApiError:
                limits.failures.spend(client)
                raise
            state["admin"] = True
            return rule.limit
        state["workspace"] = await auth.workspace_of(app.state.pool, limits, client, token)
        return rule.limit

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, limit: int, state: dict[str, bool]
    ) -> None:
        """Run the app with a counted body (step 6), cancelled if the client leaves (step 7).

        A reader task owns ``receive``: it hands the body on through a one-message queue (so
        a slow app still slows the client down), and once the body is complete it waits for
        the disconnect. It ends only when the body grew too large or the client left (which
        the server also reports once the response is complete): then the app is cancelled."""
        body: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        gone = asyncio.Event()

        async def read() -> None:
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client left before the body was complete
                size += len(message.get("body", b""))
                if size > limit:
                    raise _TooLarge
                await body.put(message)
                if not message.get("more_body", False):
                    break
            while (await receive())["type"] != "http.disconnect":
                pass

        complete = False

        async def app_receive() -> Message:
            nonlocal complete
            if complete:
                await gone.wait()
                return {"type": "http.disconnect"}
            message = await body.get()
            complete = not message.get("more_body", False)
            return message

        reader = asyncio.create_task(read())
        task = asyncio.create_task(self.app(scope, app_receive, send))
        try:
            await asyncio.wait({task, reader}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # what the app raised, for the server to log
                return
            gone.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if isinstance(reader.exception(), _TooLarge) and not state["started"]:
                await _answer(send, too_large(limit), scope["path"])
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def _answer(send: Send, exc: ApiError, path: str) -> None:
    status, body = errors.answer(path, exc.status, exc.code, exc.message, exc.details)
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
