"""Messages: auto and manual, three channels, audiences in the filter language; their versions,
copies and archive; previews, test sends, the reach of going live and retries of failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.upload import messaging, rules, sends, validation
from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, Outbound, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.schemas import (
    Body,
    DeliveryPublic,
    MessagePreview,
    MessagePublic,
    MessageVersionPublic,
    Name,
    Page,
    PreviewPerson,
    Reach,
    Retried,
    SendOutcome,
    Subject,
)
from shared import audiences, channels, events, templates, values
from shared.errors import InvalidValue
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
    state: Literal["live", "paused", "archived"] | None = None
    confirm_everyone: bool = False


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject = None
    body: Body = ""
    contact_id: str | None = Field(
        default=None, max_length=100, description="a person of the workspace (else: fallbacks)"
    )


class TestSendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["in_app", "email", "webhook"]
    subject: Subject = None
    body: Body = ""
    to: str | None = Field(default=None, max_length=254, description="email: the address")
    webhook_url: str | None = Field(default=None, max_length=2000)
    contact_id: str | None = Field(
        default=None, max_length=100, description="render as this person (else: fallbacks)"
    )
    message_id: str | None = Field(default=None, max_length=100)


class ReachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: dict[str, Any]
    message_id: str | None = Field(
        default=None, max_length=100, description="leave out who has had this message"
    )


async def _activate(
    producer: Producer, settings: Settings, workspace_id: str, message_id: str
) -> None:
    await producer.send_and_wait(
        MESSAGE_ACTIVATIONS.name(settings),
        events.encode(MessageActivated(workspace_id=workspace_id, message_id=message_id)),
        key=workspace_id.encode(),
    )


async def _public(pool: Pool, rows: Sequence[asyncpg.Record]) -> list[MessagePublic]:
    """Messages as answered, with their deliveries counted (one query for all)."""
    counts = await repo.delivery_counts(pool, [r["id"] for r in rows])
    return [MessagePublic.from_row(r, messaging.Counts.of(counts.get(r["id"], {}))) for r in rows]


async def _message(pool: Pool, workspace_id: str, message_id: str) -> asyncpg.Record:
    row = await repo.get_message(pool, workspace_id, message_id)
    if row is None:
        raise not_found("message")
    return row


def _conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


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
    matches later; manual: only then). A subject or body with an unknown placeholder (or an
    attribute the workspace lacks, or an unclosed ``{{``) is a 422 naming each, per field."""
    await validation.message_templates(
        pool, workspace.id, {"subject": body.subject, "body": body.body}
    )
    await validation.message_audience(pool, workspace.id, body.audience, body.confirm_everyone)
    await validation.webhook_url(policy, body.channel, body.webhook_url)
    if body.channel == "email" and not settings.smtp_host:
        raise invalid(f"channel: email cannot be chosen: {channels.NOT_SET_UP}")
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
async def list_(
    workspace: CurrentWorkspace, pool: Pool, paging: PageByTime, archived: bool = False
) -> dict[str, Any]:
    """Newest first; the archived messages only with ``archived=true`` (and only those)."""
    rows = await repo.list_messages(pool, workspace.id, paging.after, paging.limit + 1, archived)
    return paging.page(await _public(pool, rows), lambda m: (m.created_at, m.id))


@router.post("/preview", response_model=MessagePreview)
async def preview(body: PreviewRequest, workspace: CurrentWorkspace, pool: Pool) -> MessagePreview:
    """The subject and body as one person of the workspace would get them (without
    ``contact_id``: as someone with no values, so the fallbacks show), and the placeholders
    that come out empty for them. Template problems are a 422, as when saving."""
    await validation.message_templates(
        pool, workspace.id, {"subject": body.subject, "body": body.body}
    )
    person: Mapping[str, Any] = {}
    if body.contact_id is not None:
        found = await repo.get_contact(pool, workspace.id, body.contact_id)
        if found is None:
            raise not_found("contact")
        person = found
    missing = [
        *(templates.parse(body.subject).missing(person) if body.subject else []),
        *templates.parse(body.body).missing(person),
    ]
    shown = (
        PreviewPerson(id=person["id"], email=person["email"], name=person["name"])
        if person
        else None
    )
    return MessagePreview(
        contact=shown,
        subject=templates.render(body.subject, person) if body.subject is not None else None,
        body=templates.render(body.body, person),
        missing=list(dict.fromkeys(missing)),
    )


@router.post("/test-send", response_model=SendOutcome)
async def test_send(
    body: TestSendRequest,
    workspace: CurrentWorkspace,
    pool: Pool,
    settings: Settings,
    policy: Outbound,
) -> SendOutcome:
    """Send the subject and body once, now: email to ``to``, webhook to ``webhook_url``
    (checked as at creation). Rendered as ``contact_id`` when given, else with the fallbacks.
    200 either way: ``sent`` and a sentence saying where it went or why it did not."""
    if body.channel == "in_app":
        raise invalid(
            "channel: an in-app message goes to an inbox, not an address: use the preview"
        )
    await validation.message_templates(
        pool, workspace.id, {"subject": body.subject, "body": body.body}
    )
    to = None
    if body.channel == "email":
        try:
            to = values.parse_email(body.to or "")
        except InvalidValue as exc:
            raise invalid(f"to: {exc}" if body.to else "to: give the address to send to") from None
    await validation.webhook_url(policy, body.channel, body.webhook_url)
    person: dict[str, Any] = {}
    if body.contact_id is not None:
        row = await repo.get_contact(pool, workspace.id, body.contact_id)
        if row is None:
            raise not_found("contact")
        person = dict(row)
    trial = sends.Trial(
        channel=body.channel,
        subject=templates.render(body.subject, person),
        body=templates.render(body.body, person),
        to=to,
        webhook_url=body.webhook_url,
        message_id=body.message_id,
        contact={"id": person.get("id"), "email": person.get("email")},
    )
    sent, detail = await sends.send(settings, policy, workspace.id, workspace.webhook_secret, trial)
    return SendOutcome(sent=sent, detail=detail)


@router.post("/reach", response_model=Reach)
async def reach(body: ReachRequest, workspace: CurrentWorkspace, pool: Pool) -> Reach:
    """How many people going live with this audience sends the message to now: who matches,
    less who has had it (``message_id``) — none for a manual message that went live before."""
    message = await _message(pool, workspace.id, body.message_id) if body.message_id else None
    await validation.audience(pool, workspace.id, body.audience)
    ctx = await audiences.filter_context(pool, workspace.id, datetime.now(UTC))
    matching, already = await repo.reach_counts(
        pool, workspace.id, body.audience, ctx, body.message_id
    )
    return Reach(
        matching=matching, already=already, reach=messaging.reach(matching, already, message)
    )


@router.get("/{message_id}", response_model=MessagePublic)
async def one(message_id: str, workspace: CurrentWorkspace, pool: Pool) -> MessagePublic:
    return (await _public(pool, [await _message(pool, workspace.id, message_id)]))[0]


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
    """Change state or content (rules.activates says when that sends it). A change of the
    subject, body, audience or webhook URL is a new version; what was delivered stays with
    the version it was sent with. ``state: "archived"`` stops it and hides it from the list;
    an archived message may only be restored (``state: "paused"``)."""
    row = await _message(pool, workspace.id, message_id)
    changes = body.model_dump(exclude_unset=True, exclude={"confirm_everyone"})
    if "name" in changes and changes["name"] is None:
        raise invalid("name cannot be null")
    refused = messaging.archive_problem(row, changes)
    if refused:
        raise _conflict(refused)
    await validation.message_templates(
        pool, workspace.id, {k: changes[k] for k in messaging.TEMPLATE_FIELDS if k in changes}
    )
    if body.audience is not None:
        await validation.message_audience(pool, workspace.id, body.audience, body.confirm_everyone)
    await validation.webhook_url(
        policy, row["channel"], changes.get("webhook_url", row["webhook_url"])
    )
    activate = rules.activates(row, changes)
    if changes.get("state") == "live" and row["activated_at"] is None:
        changes["activated_at"] = datetime.now(UTC)
    if not changes:
        return (await _public(pool, [row]))[0]
    async with pool.acquire() as conn, conn.transaction():
        updated = await repo.update_message(
            conn, message_id, changes, new_version=messaging.new_version(row, changes)
        )
    if activate:
        await _activate(producer, settings, workspace.id, message_id)
    return (await _public(pool, [updated]))[0]


@router.post("/{message_id}/duplicate", status_code=201, response_model=MessagePublic)
async def duplicate(message_id: str, workspace: CurrentWorkspace, pool: Pool) -> MessagePublic:
    """A new draft with the same content ("Copy of …"): paused, never live, version 1."""
    row = await _message(pool, workspace.id, message_id)
    async with pool.acquire() as conn:
        copy = await repo.insert_message(
            conn,
            id=new_id("msg_"),
            workspace_id=workspace.id,
            name=messaging.copy_name(row["name"]),
            type=row["type"],
            channel=row["channel"],
            subject=row["subject"],
            body=row["body"],
            webhook_url=row["webhook_url"],
            audience=row["audience"],
            state="paused",
            activated_at=None,
        )
    return MessagePublic.from_row(copy)


@router.post("/{message_id}/retry", response_model=Retried)
async def retry(message_id: str, workspace: CurrentWorkspace, pool: Pool) -> Retried:
    """Try the failed deliveries again: they become pending and are sent within seconds (a
    paused message's when it goes live), each still at most once, with the same idempotency
    key. An archived message is a 409."""
    row = await _message(pool, workspace.id, message_id)
    if row["state"] == "archived":
        raise _conflict(f"“{row['name']}” is archived: restore it before retrying its deliveries")
    return Retried(requeued=await repo.requeue_failed(pool, message_id))


@router.get("/{message_id}/versions", response_model=Page[MessageVersionPublic])
async def versions(message_id: str, workspace: CurrentWorkspace, pool: Pool) -> dict[str, Any]:
    """Every version, newest (the current one) first, with what was delivered of each."""
    row = await _message(pool, workspace.id, message_id)
    earlier = await repo.message_versions(pool, message_id)
    counts = await repo.delivery_counts_by_version(pool, message_id)
    replaced = {v["version"]: v["replaced_at"] for v in earlier}

    def public(v: Any, current: bool) -> MessageVersionPublic:
        by_status = counts.get(v["version"], {})
        return MessageVersionPublic(
            version=v["version"],
            current=current,
            name=v["name"],
            subject=v["subject"],
            body=v["body"],
            webhook_url=v["webhook_url"],
            audience=v["audience"],
            made_at=replaced.get(v["version"] - 1) or row["created_at"],
            replaced_at=None if current else v["replaced_at"],
            delivered=by_status.get("delivered", 0),
            failed=by_status.get("failed", 0),
        )

    data = [
        public(row, True),
        *(public(v, False) for v in earlier if v["version"] < row["version"]),
    ]
    return {"data": data, "next_cursor": None}


@router.get("/{message_id}/deliveries", response_model=Page[DeliveryPublic])
async def deliveries(
    message_id: str, workspace: CurrentWorkspace, pool: Pool, paging: PageByTime
) -> dict[str, Any]:
    """Who got it, when, and how it went (delivered, failed with a reason, pending)."""
    await _message(pool, workspace.id, message_id)
    rows = await repo.deliveries(pool, message_id, paging.after, paging.limit + 1)
    items = [DeliveryPublic.from_row(r) for r in rows]
    return paging.page(items, lambda d: (d.created_at, d.contact_id))
