"""People: create or update one contact by the identity rules, list, search and read them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request

from services.upload import repository as repo
from services.upload.auth import CurrentWorkspace
from services.upload.errors import ApiError, invalid, not_found
from services.upload.pagination import Paging, pages
from shared import changes, jsonfile, people_store
from shared.records import contact_record
from shared.topics import CONTACT_CHANGES

router = APIRouter(prefix="/api/users", tags=["people"])


def public_contact(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "role": row["role"],
        "user_id": row["user_id"],
        "email": row["email"],
        "name": row["name"],
        "phone": row["phone"],
        "signed_up_at": row["signed_up_at"],
        "last_seen_at": row["last_seen_at"],
        "last_seen_ip": row["last_seen_ip"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "tags": list(row["tags"]),
        "custom_attributes": row["custom"],
    }


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > request.app.state.settings.max_json_bytes:
        raise ApiError(413, "too_large", "the request body is too large")
    try:
        body = jsonfile.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object describing one contact")
    return body


@router.post("")
async def upsert(request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    """Create or update one contact by the identity rules (the same engine as imports)."""
    body = await _json_object(request)
    app = request.app
    role = body.get("role", "user")
    if role == "lead" and body.get("user_id") is not None:
        raise invalid("a lead has no user_id: send role 'user' to create or update a user")
    async with app.state.pool.acquire() as conn:
        types = await people_store.attribute_types(conn, workspace.id)
        record, errors, new_attributes = contact_record(body, types)
        if record is None:
            raise invalid(f"the contact is not valid: {'; '.join(errors)}", errors)
        if len(types) + len(new_attributes) > 250:
            raise invalid("a workspace has at most 250 custom attributes")
        kind = "leads" if role == "lead" else "users"
        topic = CONTACT_CHANGES.name(app.state.settings)
        async with conn.transaction():
            written = await changes.write_records(
                conn, workspace.id, [record], kind, topic, new_attributes=new_attributes
            )
            outcome = written.outcomes[0]
            if outcome is None or outcome.result == "failed" or outcome.contact is None:
                errors = list(outcome.errors) if outcome is not None else []
                raise ApiError(409, "conflict", "; ".join(errors), errors)
        contact = await repo.get_contact(conn, workspace.id, outcome.contact.id)
    await changes.publish(app.state.producer, written.change)
    return {"contact": public_contact(contact), "created": outcome.result == "created"}


@router.get("")
async def search(
    request: Request,
    workspace: CurrentWorkspace,
    email: str | None = None,
    user_id: str | None = None,
    tag: str | None = None,
    role: Literal["user", "lead"] | None = None,
    q: str | None = None,
    *,
    paging: Annotated[Paging, Depends(pages("text"))],
) -> dict[str, Any]:
    """People, newest first. ``q`` searches name and email; ``q="tag: X"`` finds tag X."""
    before = paging.after
    text = q.strip() if q else None
    if text and text.lower().startswith("tag:"):
        tag_text = text[4:].strip()
        if not tag_text:
            raise invalid("write the tag after 'tag:', as in 'tag: New Sign-Ups 2015'")
        tag = tag_text
        text = None
    rows = await repo.find_contacts(
        request.app.state.pool,
        workspace.id,
        email=email,
        user_id=user_id,
        tag=tag,
        role=role,
        text=text,
        before_id=before,
        limit=paging.limit + 1,
    )
    return paging.page([public_contact(r) for r in rows], lambda c: c["id"])


@router.get("/{contact_id}")
async def one(contact_id: str, request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    row = await repo.get_contact(request.app.state.pool, workspace.id, contact_id)
    if row is None:
        raise not_found("contact")
    return public_contact(row)


@router.get("/{contact_id}/messages")
async def inbox(
    contact_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("pair"))],
) -> dict[str, Any]:
    """The person's in-app inbox, newest first."""
    pool = request.app.state.pool
    if await repo.get_contact(pool, workspace.id, contact_id) is None:
        raise not_found("contact")
    rows = await repo.inbox(pool, contact_id, paging.after, paging.limit + 1)
    items = [
        {
            "message_id": r["message_id"],
            "message_name": r["name"],
            "subject": r["subject"],
            "body": r["body"],
            "delivered_at": r["delivered_at"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]
    return paging.page(items, lambda i: (i["created_at"], i["message_id"]))
