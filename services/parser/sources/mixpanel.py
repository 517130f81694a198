"""Mixpanel people profiles through the Query API's engage endpoint.

``POST {origin}/api/query/engage?project_id=…`` (form body) with service-account basic auth; the
origin is ``https://mixpanel.com``, ``https://eu.mixpanel.com`` or ``https://in.mixpanel.com``
by region, unless the import gives ``base_url``. The first answer carries a ``session_id``; the
next pages are asked with it and ``page`` = 1, 2, … until a page holds fewer than ``page_size``
profiles. Errors come as ``{"error": "…"}``.

Limits (per project): 60 queries an hour — counted here, in this process — and 5 concurrent
(pages are asked one at a time). The session id is kept in the import's ``source_state``, so a
restarted parser asks for the next page of the same query; when Mixpanel no longer knows the
session, the query starts over and the pages already applied are read past, not sent again.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from services.parser import repository as repo
from services.parser.contacts import mixpanel_contact
from services.parser.sources import ImportContext, SourceFailed
from services.parser.sources.jsonfile import Convert
from services.parser.sources.remote import HourlyLimit, Page, RemoteSource, vendor_client
from shared.logs import get_logger

log = get_logger(__name__)

ORIGINS = {
    "us": "https://mixpanel.com",
    "eu": "https://eu.mixpanel.com",
    "in": "https://in.mixpanel.com",
}
PAGE_SIZE = 1000  # Mixpanel's page size when the answer does not say
MAX_CONNECTIONS = 5  # Mixpanel's limit of concurrent queries
QUERY_LIMIT = HourlyLimit(60)  # Mixpanel's limit of queries an hour, per project
_FINAL = (401, 403, 404)  # refusals that a new session cannot fix


class MixpanelSource(RemoteSource):
    vendor = "Mixpanel"

    def converter(self, kind: str) -> Convert:
        return lambda profile: mixpanel_contact(profile, kind)

    def client(self, ctx: ImportContext, secret: dict[str, Any]) -> httpx.AsyncClient:
        options = ctx.options
        base = options.get("base_url") or ORIGINS[options.get("region") or "us"]
        return vendor_client(
            ctx,
            str(base).rstrip("/"),
            httpx.BasicAuth(str(secret["username"]), str(secret["secret"])),
            MAX_CONNECTIONS,
            self.transport,
        )

    def vendor_message(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return str(body["error"])
        return None

    async def pages(
        self, ctx: ImportContext, client: httpx.AsyncClient, first: int
    ) -> AsyncGenerator[Page, None]:
        options = ctx.options
        project_id = str(options["project_id"])
        # The budget is the project's, but counted per workspace and service account: another
        # workspace naming the same project cannot spend this one's queries.
        account = hashlib.sha256("|".join(self.secrets).encode()).hexdigest()[:16]
        limit_key = f"{ctx.workspace_id}|{client.base_url}|{project_id}|{account}"
        state = ctx.row["source_state"] or {}
        session: str | None = state.get("session_id") if first > 0 else None
        resuming = session is not None  # a stored session Mixpanel may have forgotten
        number = first if session else 0
        total: int | None = state.get("total")
        while True:
            data: dict[str, Any] = {}
            if session is not None:
                data = {"session_id": session, "page": number}
            await QUERY_LIMIT.acquire(limit_key, ctx)
            response = await self.request(
                ctx,
                client,
                "POST",
                "/api/query/engage",
                params={"project_id": project_id},
                data=data,
                refuse=False,
            )
            if response.status_code >= 400:
                if response.status_code in _FINAL or not resuming:
                    if response.status_code in (401, 403):
                        QUERY_LIMIT.refund(limit_key)  # not an authenticated query
                    raise self.refusal(response)
                log.info(
                    "Mixpanel no longer knows the query session: starting over",
                    extra={"status": response.status_code, "skip_pages": first},
                )
                session, resuming, number = None, False, 0
                continue
            resuming = False
            body = self.body(response)
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise SourceFailed("Mixpanel answered without a 'results' list")
            if isinstance(body.get("total"), int):
                total = body["total"]
            page_size = body.get("page_size")
            size = page_size if isinstance(page_size, int) and page_size > 0 else PAGE_SIZE
            last = len(results) < size
            if session is None:
                session = body.get("session_id") or None
                async with ctx.pool.acquire() as conn:
                    await repo.save_source_state(
                        conn, ctx.import_id, {"session_id": session, "total": total}
                    )
                if session is None and not last:
                    raise SourceFailed("Mixpanel answered without a session_id to page on")
            if number >= first:
                yield Page(results, total, last)
            elif last:  # fewer pages than were applied: the profiles went away meanwhile
                yield Page([], total, True)
            if last:
                return
            number += 1
