"""Messages: auto and manual, three channels, audiences in the filter language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from services.upload import repository as repo
from services.upload.auth import CurrentWorkspace, Workspace
from services.upload.errors import invalid, not_found
from services.upload.pagination import Paging, pages
from services.upload.schemas import Body, Name, Subject
from shared import audiences, events, outbound
from shared.errors import InvalidFilter
from shared.events import MessageActivated
from shared.filters import compile_filter
from shared.ids import new_id
from shared.topics import MESSAGE_ACTIVATIONS

router = APIRouter(prefix="/api/messages", tags=["messages"])


EVERYONE = (
    "audience: it matches everyone in the workspace; add a condition, or send"
    ' "confirm_everyone": true to message everyone'
)


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    type: Literal["auto", "manual"] = "auto"
    channel: Literal["in_app", "email", "webhook"] = "in_app"
    subject: Subject = None
    body: Body = ""
    webhook_url: str | None = Field(default=None, max_length=2000)
    audience: dict[str, Any]
    state: Literal["live", "paused"] = "paused"
    confirm_everyone: bool = False  # an audience that matches everyone must be meant


class MessageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    subject: Subject = None
    body: Body | None = None
    webhook_url: str | None = Field(default=None, max_length=2000)
    audience: dict[str, Any] | None = None
    state: Literal["live", "paused"] | None = None
    confirm_everyone: bool = False


def public_message(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "channel": row["channel"],
        "subject": row["subject"],
        "body": row["body"],
        "webhook_url": row["webhook_url"],
        "audience": row["audience"],
        "state": row["state"],
        "activated_at": row["activated_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def check_audience(request: Request, workspace: Workspace, audience: Any) -> bool:
    """422 unless ``audience`` is a valid filter; whether it matches everyone."""
    ctx = await audiences.filter_context(request.app.state.pool, workspace.id, datetime.now(UTC))
    try:
        return compile_filter(audience, ctx).matches_everyone
    except InvalidFilter as exc:
        raise invalid(f"audience: {exc}") from None


async def _check_message_audience(
    request: Request, workspace: Workspace, audience: Any, confirmed: bool
) -> None:
    if await check_audience(request, workspace, audience) and not confirmed:
        raise invalid(EVERYONE)


async def _check_channel(request: Request, channel: str, webhook_url: str | None) -> None:
    """A webhook message needs an http(s) URL at an address Usher may reach (SPEC §8)."""
    if channel != "webhook":
        return
    if not webhook_url:
        raise invalid("webhook_url: a webhook message needs an http(s) URL to POST to")
    policy: outbound.Policy = request.app.state.outbound
    try:
        await policy.check_url(webhook_url, "webhook_url")
    except outbound.Refused as exc:
        raise invalid(str(exc)) from None


async def _activate(request: Request, workspace: Workspace, message_id: str) -> None:
    app = request.app
    await app.state.producer.send_and_wait(
        MESSAGE_ACTIVATIONS.name(app.state.settings),
        events.encode(MessageActivated(workspace_id=workspace.id, message_id=message_id)),
        key=workspace.id.encode(),
    )


@router.post("", status_code=201)
async def create(
    body: MessageCreate, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    """A live message is delivered at once to everyone who matches (auto: and to anyone who
    matches later; manual: only then)."""
    await _check_message_audience(request, workspace, body.audience, body.confirm_everyone)
    await _check_channel(request, body.channel, body.webhook_url)
    async with request.app.state.pool.acquire() as conn:
        row = await repo.insert_message(
            conn,
            id=new_id("msg_"),
            workspace_id=workspace.id,
            name=body.name,
            type=body.type,
            channel=body.channel,
            subject=body.subject,
            body=body.body,
            webhook_url=body.webhook_url,
            audience=body.audience,
            state=body.state,
            activated_at=datetime.now(UTC) if body.state == "live" else None,
        )
    if body.state == "live":
        await _activate(request, workspace, row["id"])
    return public_message(row)


@router.get("")
async def list_(
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("pair"))],
) -> dict[str, Any]:
    rows = await repo.list_messages(
        request.app.state.pool, workspace.id, paging.after, paging.limit + 1
    )
    return paging.page([public_message(r) for r in rows], lambda m: (m["created_at"], m["id"]))


@router.get("/{message_id}")
async def one(message_id: str, request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    row = await repo.get_message(request.app.state.pool, workspace.id, message_id)
    if row is None:
        raise not_found("message")
    return public_message(row)


@router.patch("/{message_id}")
async def update(
    message_id: str, body: MessageUpdate, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    """Change state or content. Going live delivers an auto message to everyone who matches
    now; a manual message is sent only the first time it goes live."""
    pool = request.app.state.pool
    row = await repo.get_message(pool, workspace.id, message_id)
    if row is None:
        raise not_found("message")
    changes = body.model_dump(exclude_unset=True, exclude={"confirm_everyone"})
    if "name" in changes and changes["name"] is None:
        raise invalid("name cannot be null")
    if body.audience is not None:
        await _check_message_audience(request, workspace, body.audience, body.confirm_everyone)
    await _check_channel(request, row["channel"], changes.get("webhook_url", row["webhook_url"]))
    first_live = body.state == "live" and row["activated_at"] is None
    goes_live = body.state == "live" and row["state"] != "live"
    if first_live:
        changes["activated_at"] = datetime.now(UTC)
    if not changes:
        return public_message(row)
    async with pool.acquire() as conn:
        updated = await repo.update_message(conn, message_id, changes)
    if goes_live and (row["type"] == "auto" or first_live):
        await _activate(request, workspace, message_id)
    elif row["type"] == "auto" and updated["state"] == "live" and body.audience is not None:
        await _activate(request, workspace, message_id)
    return public_message(updated)


@router.get("/{message_id}/deliveries")
async def deliveries(
    message_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("pair"))],
) -> dict[str, Any]:
    """Who got it, when, and how it went (delivered, failed with a reason, pending)."""
    pool = request.app.state.pool
    if await repo.get_message(pool, workspace.id, message_id) is None:
        raise not_found("message")
    rows = await repo.deliveries(pool, message_id, paging.after, paging.limit + 1)
    items = [
        {
            "contact_id": r["contact_id"],
            "email": r["email"],
            "user_id": r["user_id"],
            "status": r["status"],
            "reason": r["reason"],
            "created_at": r["created_at"],
            "delivered_at": r["delivered_at"],
            "attempts": r["attempts"],
        }
        for r in rows
    ]
    return paging.page(items, lambda d: (d["created_at"], d["contact_id"]))
