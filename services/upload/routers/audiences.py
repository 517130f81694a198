"""Tags and segments (saved filters), and counting who matches a filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from services.upload import repository as repo
from services.upload.auth import CurrentWorkspace
from services.upload.errors import invalid, not_found
from services.upload.pagination import Paging, pages
from services.upload.routers.messages import check_audience
from services.upload.routers.people import public_contact
from services.upload.schemas import Name
from shared import audiences, people_store
from shared.errors import InvalidFilter
from shared.ids import new_id

router = APIRouter(prefix="/api", tags=["audiences"])


@router.get("/tags")
async def tags(
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("text"))],
) -> dict[str, Any]:
    rows = await repo.list_tags(
        request.app.state.pool, workspace.id, paging.after, paging.limit + 1
    )
    items = [
        {"name": r["name"], "created_at": r["created_at"], "_key": r["name_lower"]} for r in rows
    ]
    result = paging.page(items, lambda t: t["_key"])
    for item in result["data"]:
        del item["_key"]
    return result


@router.get("/attributes")
async def attributes(request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    """The workspace's custom attributes and their fixed types."""
    types = await people_store.attribute_types(request.app.state.pool, workspace.id)
    return {
        "data": [
            {"name": n, "type": t} for n, t in sorted(types.items(), key=lambda x: x[0].lower())
        ],
        "next_cursor": None,
    }


class SegmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    filter: dict[str, Any]


@router.post("/segments", status_code=201)
async def create_segment(
    body: SegmentCreate, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    await check_audience(request, workspace, body.filter)
    row = await repo.insert_segment(
        request.app.state.pool, new_id("seg_"), workspace.id, body.name.strip(), body.filter
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "filter": row["filter"],
        "created_at": row["created_at"],
    }


@router.get("/segments")
async def list_segments(request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    rows = await repo.list_segments(request.app.state.pool, workspace.id)
    return {
        "data": [
            {"id": r["id"], "name": r["name"], "filter": r["filter"], "created_at": r["created_at"]}
            for r in rows
        ],
        "next_cursor": None,
    }


@router.get("/segments/{segment_id}/users")
async def segment_users(
    segment_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    paging: Annotated[Paging, Depends(pages("text"))],
) -> dict[str, Any]:
    pool = request.app.state.pool
    segment = await repo.get_segment(pool, workspace.id, segment_id)
    if segment is None:
        raise not_found("segment")
    ctx = await audiences.filter_context(pool, workspace.id, datetime.now(UTC))
    before = paging.after
    params_start = 2 + (1 if before is not None else 0)
    try:
        audience = repo.audience_sql(segment["filter"], ctx, params_start)
    except InvalidFilter as exc:
        raise invalid(f"the segment's filter is no longer valid: {exc}") from None
    rows = await repo.find_contacts(
        pool,
        workspace.id,
        email=None,
        user_id=None,
        tag=None,
        role=None,
        text=None,
        before_id=before,
        limit=paging.limit + 1,
        audience=audience,
    )
    return paging.page([public_contact(r) for r in rows], lambda c: c["id"])


class CountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: dict[str, Any]


@router.post("/audiences/count")
async def count(
    body: CountRequest, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    """How many people match a filter now (the UI's live count)."""
    await check_audience(request, workspace, body.filter)
    ctx = await audiences.filter_context(request.app.state.pool, workspace.id, datetime.now(UTC))
    return {
        "count": await repo.count_matching(request.app.state.pool, workspace.id, body.filter, ctx)
    }
