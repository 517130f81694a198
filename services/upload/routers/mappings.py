"""Remembered mappings (SPEC §6.5): list them, forget one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.upload import mappings
from services.upload.deps import CurrentWorkspace, PageByTime, Pool
from services.upload.errors import not_found
from services.upload.schemas import MappingPublic, Page

router = APIRouter(prefix="/api/mappings", tags=["mappings"])


@router.get("", response_model=Page[MappingPublic])
async def list_mappings(
    workspace: CurrentWorkspace, pool: Pool, paging: PageByTime
) -> dict[str, Any]:
    """The workspace's remembered mappings (one per header set), oldest first."""
    rows = await mappings.page(pool, workspace.id, paging.after, paging.limit + 1)
    shown = [MappingPublic.model_validate(dict(r)) for r in rows]
    return paging.page(shown, lambda m: (m.created_at, m.id))


@router.delete("/{mapping_id}", status_code=204)
async def forget_mapping(mapping_id: str, workspace: CurrentWorkspace, pool: Pool) -> Response:
    """Forget a remembered mapping: the next upload of its header set gets a suggestion."""
    if not await mappings.forget(pool, workspace.id, mapping_id):
        raise not_found("mapping")
    return Response(status_code=204)
