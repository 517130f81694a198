"""People: create or update one contact by the identity rules, list, search and read them."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageById, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.rules import MAX_ATTRIBUTES
from services.upload.schemas import ContactPublic, InboxItem, Page, Upserted
from shared import changes, jsonfile, people_store
from shared.records import contact_record
from shared.topics import CONTACT_CHANGES

router = APIRouter(prefix="/api/users", tags=["people"])


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = jsonfile.loads(await request.body())  # the guard bounded its size
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object describing one contact")
    return body


@router.post("", response_model=Upserted)
async def upsert(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> Upserted:
    """Create or update one contact by the identity rules (the same engine as imports)."""
    body = await _json_object(request)
    role = body.get("role", "user")
    if role == "lead" and body.get("user_id") is not None:
        raise invalid("a lead has no user_id: send role 'user' to create or update a user")
    async with pool.acquire() as conn:
        types = await people_store.attribute_types(conn, workspace.id)
        record, errors, new_attributes = contact_record(body, types)
        if record is None:
            raise invalid(f"the contact is not valid: {'; '.join(errors)}", errors)
        if len(types) + len(new_attributes) > MAX_ATTRIBUTES:
            raise invalid(f"a workspace has at most {MAX_ATTRIBUTES} custom attributes")
        kind = "leads" if role == "lead" else "users"
        async with conn.transaction():
            written = await changes.write_records(
                conn,
                workspace.id,
                [record],
                kind,
                CONTACT_CHANGES.name(settings),
                new_attributes=new_attributes,
            )
            outcome = written.outcomes[0]
            if outcome is None or outcome.result == "failed" or outcome.contact is None:
                reasons = list(outcome.errors) if outcome is not None else []
                raise ApiError(409, "conflict", "; ".join(reasons), reasons)
        contact = await repo.get_contact(conn, workspace.id, outcome.contact.id)
    await changes.publish(producer, written.change)
    return Upserted(contact=ContactPublic.from_row(contact), created=outcome.result == "created")


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
    """People, newest first. ``q`` searches name and email; ``q="tag: X"`` finds tag X."""
    text = q.strip() if q else None
    if text and text.lower().startswith("tag:"):
        tag_text = text[4:].strip()
        if not tag_text:
            raise invalid("write the tag after 'tag:', as in 'tag: New Sign-Ups 2015'")
        tag = tag_text
        text = None
    rows = await repo.find_contacts(
        pool,
        workspace.id,
        email=email,
        user_id=user_id,
        tag=tag,
        role=role,
        text=text,
        before_id=paging.after,
        limit=paging.limit + 1,
    )
    return paging.page([ContactPublic.from_row(r) for r in rows], lambda c: c.id)


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
