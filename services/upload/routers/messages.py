"""Messages: auto and manual, three channels, audiences in the filter language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.upload import repository as repo
from services.upload import rules, validation
from services.upload.deps import CurrentWorkspace, Outbound, PageByTime, Pool, Producer, Settings
from services.upload.errors import invalid, not_found
from services.upload.schemas import Body, DeliveryPublic, MessagePublic, Name, Page, Subject
from shared import events
from shared.events import MessageActivated
from shared.ids import new_id
from shared.topics import MESSAGE_ACTIVATIONS

router = APIRouter(prefix="/api/messages", tags=["messages"])


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


async def _activate(
    producer: Producer, settings: Settings, workspace_id: str, message_id: str
) -> None:
    await producer.send_and_wait(
        MESSAGE_ACTIVATIONS.name(settings),
        events.encode(MessageActivated(workspace_id=workspace_id, message_id=message_id)),
        key=workspace_id.encode(),
    )


@router.post("", status_code=201, response_model=MessagePublic)
async def create(
    body: MessageCreate,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    policy: Outbound,
) -> MessagePublic:
    """A live message is delivered at once to everyone who matches (auto: and to anyone who
    matches later; manual: only then)."""
    await validation.message_audience(pool, workspace.id, body.audience, body.confirm_everyone)
    await validation.webhook_url(policy, body.channel, body.webhook_url)
    async with pool.acquire() as conn:
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
        await _activate(producer, settings, workspace.id, row["id"])
    return MessagePublic.from_row(row)


@router.get("", response_model=Page[MessagePublic])
async def list_(workspace: CurrentWorkspace, pool: Pool, paging: PageByTime) -> dict[str, Any]:
    rows = await repo.list_messages(pool, workspace.id, paging.after, paging.limit + 1)
    messages = [MessagePublic.from_row(r) for r in rows]
    return paging.page(messages, lambda m: (m.created_at, m.id))


@router.get("/{message_id}", response_model=MessagePublic)
async def one(message_id: str, workspace: CurrentWorkspace, pool: Pool) -> MessagePublic:
    row = await repo.get_message(pool, workspace.id, message_id)
    if row is None:
        raise not_found("message")
    return MessagePublic.from_row(row)


@router.patch("/{message_id}", response_model=MessagePublic)
async def update(
    message_id: str,
    body: MessageUpdate,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    policy: Outbound,
) -> MessagePublic:
    """Change state or content (rules.activates says when that sends it)."""
    row = await repo.get_message(pool, workspace.id, message_id)
    if row is None:
        raise not_found("message")
    changes = body.model_dump(exclude_unset=True, exclude={"confirm_everyone"})
    if "name" in changes and changes["name"] is None:
        raise invalid("name cannot be null")
    if body.audience is not None:
        await validation.message_audience(pool, workspace.id, body.audience, body.confirm_everyone)
    await validation.webhook_url(
        policy, row["channel"], changes.get("webhook_url", row["webhook_url"])
    )
    activate = rules.activates(row, changes)
    if changes.get("state") == "live" and row["activated_at"] is None:
        changes["activated_at"] = datetime.now(UTC)
    if not changes:
        return MessagePublic.from_row(row)
    async with pool.acquire() as conn:
        updated = await repo.update_message(conn, message_id, changes)
    if activate:
        await _activate(producer, settings, workspace.id, message_id)
    return MessagePublic.from_row(updated)


@router.get("/{message_id}/deliveries", response_model=Page[DeliveryPublic])
async def deliveries(
    message_id: str, workspace: CurrentWorkspace, pool: Pool, paging: PageByTime
) -> dict[str, Any]:
    """Who got it, when, and how it went (delivered, failed with a reason, pending)."""
    if await repo.get_message(pool, workspace.id, message_id) is None:
        raise not_found("message")
    rows = await repo.deliveries(pool, message_id, paging.after, paging.limit + 1)
    items = [DeliveryPublic.from_row(r) for r in rows]
    return paging.page(items, lambda d: (d.created_at, d.contact_id))
