"""People: create or update one contact by the identity rules, list, search and read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.upload import people_query
from services.upload import repository as repo
from services.upload.deps import (
    CurrentWorkspace,
    PageById,
    PageByTime,
    Pool,
    Producer,
    Settings,
    Writes,
)
from services.upload.errors import invalid, not_found
from services.upload.schemas import (
    ContactPublic,
    FailedRowPublic,
    InboxItem,
    Page,
    PeopleCount,
    Upserted,
)
from shared import audiences, changes, jsonfile, people_store
from shared.errors import InvalidFilter, InvalidValue
from shared.filters import FilterContext
from shared.topics import CONTACT_CHANGES

router = APIRouter(prefix="/api/users", tags=["people"])
MAX_FAILED_ROWS = 20


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = jsonfile.loads(await request.body())  # the guard bounded its size
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object describing one contact")
    return body


@router.post("", response_model=Upserted)
async def upsert(request: Request, workspace: CurrentWorkspace, writes: Writes) -> Upserted:
    """Create or update one contact by the identity rules (the same engine as imports).
    Requests that arrive together share a transaction (services.upload.group_commit)."""
    body = await _json_object(request)
    role = body.get("role", "user")
    if role == "lead" and body.get("user_id") is not None:
        raise invalid("a lead has no user_id: send role 'user' to create or update a user")
    written = await writes.write(workspace.id, body, "leads" if role == "lead" else "users")
    return Upserted(contact=ContactPublic.from_row(written.contact), created=written.created)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: str = Field(alias="from", max_length=100, description="a lead or a user without user_id")
    into: str = Field(max_length=100)


@router.post("/merge", response_model=ContactPublic)
async def merge(
    body: MergeRequest,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> ContactPublic:
    """Merge ``from`` into ``into`` (SPEC §6.4): ``into`` keeps its values and fills its blanks
    from ``from``, takes over its tags, custom attributes, events and deliveries; ``from`` is
    deleted."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            try:
                merged, change = await changes.merge(
                    conn, workspace.id, body.from_, body.into, CONTACT_CHANGES.name(settings)
                )
            except LookupError:
                raise not_found("contact") from None
            except ValueError as exc:
                raise invalid(str(exc)) from None
        contact = await repo.get_contact(conn, workspace.id, merged.id)
    await changes.publish(producer, change)
    return ContactPublic.from_row(contact)


@router.get("", response_model=Page[ContactPublic])
async def search(
    workspace: CurrentWorkspace,
    pool: Pool,
    paging: PageById,
    email: str | None = None,
    user_id: str | None = None,
    tag: str | None = None,
    role: Literal["user", "lead"] | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """People, newest first, matching every filter given. ``q`` is the search box's text
    (services.upload.people_query): a name, an email or a user ID; ``tag: X``; ``<field>:
    <value>`` with a standard field or a custom attribute; ``seats > 30``."""
    audience = await _search_filter(pool, workspace.id, q)
    rows = await _find(
        pool, workspace.id, email, user_id, tag, role, audience, paging.after, paging.limit + 1
    )
    return paging.page([ContactPublic.from_row(r) for r in rows], lambda c: c.id)


@router.get("/count", response_model=PeopleCount)
async def count(
    workspace: CurrentWorkspace,
    pool: Pool,
    email: str | None = None,
    user_id: str | None = None,
    tag: str | None = None,
    role: Literal["user", "lead"] | None = None,
    q: str | None = None,
) -> PeopleCount:
    """How many people ``GET /api/users`` with the same filters lists, exactly (one count
    query; the list itself stops at a page)."""
    audience = await _search_filter(pool, workspace.id, q)
    if user_id is not None:  # unique among a workspace's users (exact, as the list compares it)
        rows = await _find(pool, workspace.id, email, user_id, tag, role, audience, None, 1)
        return PeopleCount(count=len(rows))
    filter_, ctx = audience or (people_query.EVERYONE, None)
    if ctx is None:
        ctx = await audiences.filter_context(pool, workspace.id, datetime.now(UTC))
    every = people_query.with_filters(filter_, email=email, tag=tag, role=role)
    try:
        matching = await repo.count_matching(pool, workspace.id, every, ctx)
    except InvalidFilter as exc:
        raise invalid(f"the search cannot be counted: {exc}") from None
    return PeopleCount(count=matching)


@router.get("/failed-rows", response_model=Page[FailedRowPublic])
async def failed_rows(
    workspace: CurrentWorkspace,
    pool: Pool,
    email: str | None = None,
    user_id: str | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FAILED_ROWS)] = 5,
) -> dict[str, Any]:
    """The failed rows of CSV imports that name this ``email`` (its email column, ignoring
    case) or ``user_id`` (its user ID column), or the email or user ID the search ``q`` is,
    newest import first: what became of someone a search does not find, or of a person's row
    that failed. One page (at most ``limit`` rows)."""
    if q is not None and q.strip():
        attribute_types = await people_store.attribute_types(pool, workspace.id)
        try:
            named = people_query.parse(q, attribute_types)
        except InvalidValue as exc:
            raise invalid(str(exc)) from None
        email = email or named.email
        user_id = user_id or named.user_id
    rows = await repo.failed_rows_naming(
        pool, workspace.id, email=_blank_none(email), user_id=_blank_none(user_id), limit=limit
    )
    return {"data": [FailedRowPublic.from_row(r) for r in rows], "next_cursor": None}


def _blank_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


async def _search_filter(
    pool: Pool, workspace_id: str, q: str | None
) -> tuple[dict[str, Any], FilterContext] | None:
    """The filter the search text means, with its context; None without a search."""
    if q is None or not q.strip():
        return None
    ctx = await audiences.filter_context(pool, workspace_id, datetime.now(UTC))
    try:
        return people_query.parse(q, ctx.attribute_types).filter, ctx
    except InvalidValue as exc:
        raise invalid(str(exc)) from None


async def _find(
    pool: Pool,
    workspace_id: str,
    email: str | None,
    user_id: str | None,
    tag: str | None,
    role: str | None,
    audience: tuple[dict[str, Any], FilterContext] | None,
    before_id: str | None,
    limit: int,
) -> list[Any]:
    try:
        return await repo.find_contacts(
            pool,
            workspace_id,
            email=email,
            user_id=user_id,
            tag=tag,
            role=role,
            before_id=before_id,
            limit=limit,
            audience=audience,
        )
    except InvalidFilter as exc:  # people_query writes valid filters; this is the net below
        raise invalid(f"the search cannot run: {exc}") from None


@router.get("/{contact_id}", response_model=ContactPublic)
async def one(contact_id: str, workspace: CurrentWorkspace, pool: Pool) -> ContactPublic:
    row = await repo.get_contact(pool, workspace.id, contact_id)
    if row is None:
        raise not_found("contact")
    return ContactPublic.from_row(row)


@router.get("/{contact_id}/messages", response_model=Page[InboxItem])
async def inbox(
    contact_id: str, workspace: CurrentWorkspace, pool: Pool, paging: PageByTime
) -> dict[str, Any]:
    """The person's in-app inbox, newest first."""
    if await repo.get_contact(pool, workspace.id, contact_id) is None:
        raise not_found("contact")
    rows = await repo.inbox(pool, contact_id, paging.after, paging.limit + 1)
    items = [InboxItem.from_row(r) for r in rows]
    return paging.page(items, lambda i: (i.created_at, i.message_id))
