"""Tags, custom attributes, segments (saved filters), and counting who matches a filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from services.upload import repository as repo
from services.upload import validation
from services.upload.deps import CurrentWorkspace, PageById, Pool
from services.upload.errors import invalid, not_found
from services.upload.schemas import (
    AttributePublic,
    AudienceCount,
    ContactPublic,
    Name,
    Page,
    SegmentPublic,
    TagPublic,
)
from shared import audiences, people_store
from shared.errors import InvalidFilter
from shared.ids import new_id

router = APIRouter(prefix="/api", tags=["audiences"])


@router.get("/tags", response_model=Page[TagPublic])
async def tags(workspace: CurrentWorkspace, pool: Pool, paging: PageById) -> dict[str, Any]:
    rows = await repo.list_tags(pool, workspace.id, paging.after, paging.limit + 1)
    result = paging.page(list(rows), lambda r: r["name_lower"])
    result["data"] = [TagPublic(name=r["name"], created_at=r["created_at"]) for r in result["data"]]
    return result


@router.get("/attributes", response_model=Page[AttributePublic])
async def attributes(workspace: CurrentWorkspace, pool: Pool) -> dict[str, Any]:
    """The workspace's custom attributes and their fixed types."""
    types = await people_store.attribute_types(pool, workspace.id)
    ordered = sorted(types.items(), key=lambda x: x[0].lower())
    return {"data": [AttributePublic(name=n, type=t) for n, t in ordered], "next_cursor": None}


class SegmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    filter: dict[str, Any]


@router.post("/segments", status_code=201, response_model=SegmentPublic)
async def create_segment(
    body: SegmentCreate, workspace: CurrentWorkspace, pool: Pool
) -> SegmentPublic:
    await validation.audience(pool, workspace.id, body.filter)
    row = await repo.insert_segment(
        pool, new_id("seg_"), workspace.id, body.name.strip(), body.filter
    )
    return SegmentPublic.from_row(row)


@router.get("/segments", response_model=Page[SegmentPublic])
async def list_segments(workspace: CurrentWorkspace, pool: Pool) -> dict[str, Any]:
    rows = await repo.list_segments(pool, workspace.id)
    return {"data": [SegmentPublic.from_row(r) for r in rows], "next_cursor": None}


@router.get("/segments/{segment_id}/users", response_model=Page[ContactPublic])
async def segment_users(
    segment_id: str, workspace: CurrentWorkspace, pool: Pool, paging: PageById
) -> dict[str, Any]:
    segment = await repo.get_segment(pool, workspace.id, segment_id)
    if segment is None:
        raise not_found("segment")
    ctx = await audiences.filter_context(pool, workspace.id, datetime.now(UTC))
    try:
        rows = await repo.find_contacts(
            pool,
            workspace.id,
            before_id=paging.after,
            limit=paging.limit + 1,
            audience=(segment["filter"], ctx),
        )
    except InvalidFilter as exc:
        raise invalid(f"the segment's filter is no longer valid: {exc}") from None
    return paging.page([ContactPublic.from_row(r) for r in rows], lambda c: c.id)


class CountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: dict[str, Any]


@router.post("/audiences/count", response_model=AudienceCount)
async def count(body: CountRequest, workspace: CurrentWorkspace, pool: Pool) -> AudienceCount:
    """How many people match a filter now (the UI's live count)."""
    ctx = await audiences.filter_context(pool, workspace.id, datetime.now(UTC))
    try:
        return AudienceCount(count=await repo.count_matching(pool, workspace.id, body.filter, ctx))
    except InvalidFilter as exc:
        raise invalid(f"audience: {exc}") from None
