"""MailChimp audiences through the Marketing API v3.

``GET {origin}/3.0/lists/{list_id}/members?count=1000&offset=…&status=…`` with HTTP basic auth
(any user name, the API key as password). The origin is ``https://<dc>.api.mailchimp.com``, the
data center being the key's suffix (``…-us6``), unless the import gives ``base_url``. Pages are
fetched a few at a time (MailChimp allows 10 concurrent connections per key) and sent in order.
Errors come as problem+json (``{"type", "title", "status", "detail", "instance"}``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import quote

import httpx

from services.parser.contacts import mailchimp_contact
from services.parser.sources import ImportContext, SourceFailed
from services.parser.sources.jsonfile import Convert
from services.parser.sources.remote import Page, RemoteSource, vendor_client

PAGE_SIZE = 1000  # MailChimp's largest page
MAX_CONNECTIONS = 10  # MailChimp's limit of simultaneous connections per API key
PREFETCH = 4  # pages requested ahead of the one being sent
FIELDS = ",".join(
    [
        *(
            f"members.{name}"
            for name in (
                "id",
                "email_address",
                "status",
                "merge_fields",
                "ip_signup",
                "timestamp_signup",
                "ip_opt",
                "timestamp_opt",
                "tags",
            )
        ),
        "total_items",
    ]
)
_DATA_CENTER = re.compile(r"-([a-z]+[0-9]+)$")


def data_center(api_key: str) -> str | None:
    """``us6`` for a key ending in ``-us6``; None when the key has no data-center suffix."""
    match = _DATA_CENTER.search(api_key.strip())
    return match[1] if match else None


def origin(api_key: str, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/")
    dc = data_center(api_key)
    if dc is None:
        raise SourceFailed("the MailChimp API key has no data-center suffix (like '-us6')")
    return f"https://{dc}.api.mailchimp.com"


class MailchimpSource(RemoteSource):
    vendor = "MailChimp"

    def converter(self, kind: str) -> Convert:
        return mailchimp_contact

    def client(self, ctx: ImportContext, secret: dict[str, Any]) -> httpx.AsyncClient:
        api_key = str(secret["api_key"])
        return vendor_client(
            ctx,
            origin(api_key, ctx.options.get("base_url")),
            httpx.BasicAuth("usher", api_key),
            MAX_CONNECTIONS,
            self.transport,
        )

    def vendor_message(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        title, detail = body.get("title"), body.get("detail")
        parts = [str(p) for p in (title, detail) if isinstance(p, str) and p.strip()]
        return ": ".join(parts) or None

    async def _page(
        self, ctx: ImportContext, client: httpx.AsyncClient, number: int, size: int
    ) -> tuple[list[Any], int | None]:
        options = ctx.options
        params: dict[str, Any] = {"count": size, "offset": number * size, "fields": FIELDS}
        if options.get("status"):
            params["status"] = options["status"]
        list_id = quote(str(options["list_id"]), safe="")
        response = await self.request(
            ctx, client, "GET", f"/3.0/lists/{list_id}/members", params=params
        )
        body = self.body(response)
        members = body.get("members") if isinstance(body, dict) else None
        if not isinstance(members, list):
            raise SourceFailed("MailChimp answered without a 'members' list")
        total = body.get("total_items")
        return members, total if isinstance(total, int) else None

    async def pages(
        self, ctx: ImportContext, client: httpx.AsyncClient, first: int
    ) -> AsyncGenerator[Page, None]:
        """Pages from number ``first`` on, in order; up to PREFETCH requested ahead."""
        size = int(ctx.options.get("page_size") or PAGE_SIZE)
        inflight: dict[int, asyncio.Task[tuple[list[Any], int | None]]] = {}
        number = scheduled = first
        total: int | None = None
        try:
            while True:
                while scheduled == number or (
                    len(inflight) < PREFETCH and total is not None and scheduled * size < total
                ):
                    inflight[scheduled] = asyncio.create_task(
                        self._page(ctx, client, scheduled, size)
                    )
                    scheduled += 1
                members, reported = await inflight.pop(number)
                total = reported if reported is not None else total
                last = len(members) < size
                yield Page(members, total, last)
                if last:
                    return
                number += 1
        finally:
            for task in inflight.values():
                task.cancel()
            await asyncio.gather(*inflight.values(), return_exceptions=True)
