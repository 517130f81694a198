"""Checks of a request that need the database or the network: a filter against the workspace's
attributes and segments, a URL against the outbound policy (SPEC §8). Each failure is a 422
that says what to fix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.upload import messaging
from services.upload.errors import invalid
from shared import audiences, outbound, people_store
from shared.errors import InvalidFilter, Refused
from shared.filters import compile_filter

EVERYONE = (
    "audience: it matches everyone in the workspace; add a condition, or send"
    ' "confirm_everyone": true to message everyone'
)


async def audience(
    pool: asyncpg.Pool, workspace_id: str, filter_: Any, what: str = "audience"
) -> bool:
    """422 unless ``filter_`` is a valid filter in the workspace; whether it matches everyone."""
    ctx = await audiences.filter_context(pool, workspace_id, datetime.now(UTC))
    try:
        return compile_filter(filter_, ctx).matches_everyone
    except InvalidFilter as exc:
        raise invalid(f"{what}: {exc}") from None


async def message_audience(
    pool: asyncpg.Pool, workspace_id: str, filter_: Any, confirmed: bool
) -> None:
    """A message's audience: valid, and one that matches everyone only when meant (L9)."""
    if await audience(pool, workspace_id, filter_) and not confirmed:
        raise invalid(EVERYONE)


async def message_templates(
    pool: asyncpg.Pool, workspace_id: str, texts: dict[str, str | None]
) -> None:
    """422 unless the subject and body in ``texts`` (those given) are templates of the
    workspace: every problem in ``details`` as ``{"field", "message"}``, the first in the
    message (shared.templates says what is allowed)."""
    if not any(texts.get(field) for field in messaging.TEMPLATE_FIELDS):
        return
    attributes = await people_store.attribute_types(pool, workspace_id)
    problems = messaging.template_problems(texts, attributes)
    if problems:
        raise invalid(messaging.template_refusal(problems), problems)


async def webhook_url(policy: outbound.Policy, channel: str, url: str | None) -> None:
    """A webhook message needs an http(s) URL at an address Usher may reach."""
    if channel != "webhook":
        return
    if not url:
        raise invalid("webhook_url: a webhook message needs an http(s) URL to POST to")
    try:
        await policy.check_url(url, "webhook_url")
    except Refused as exc:
        raise invalid(str(exc)) from None


async def base_url(policy: outbound.Policy, raw: str | None) -> str | None:
    """A vendor ``base_url``: ``scheme://host[:port][/prefix]`` without a trailing slash, at an
    address Usher may reach; None when not given."""
    if raw is None or not raw.strip():
        return None
    try:
        url = await policy.check_url(raw, "base_url", credentials=False)
    except Refused as exc:
        raise invalid(str(exc)) from None
    if url.query or url.fragment:
        raise invalid("base_url is an origin only: no credentials, query or fragment")
    return raw.strip().rstrip("/")
