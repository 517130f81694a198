"""What the compatible APIs received (SPEC §7): the last messages with their outcome (the
Connect page), and the per-message problems."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from services.upload import ingestion
from services.upload.deps import CurrentWorkspace, PageByTime, Pool
from services.upload.schemas import IngestedPublic, Page

router = APIRouter(prefix="/api", tags=["ingestion"])
Source = Literal["segment", "intercom"]


@router.get("/ingestion-errors", response_model=Page[IngestedPublic])
async def ingestion_errors(
    workspace: CurrentWorkspace, pool: Pool, paging: PageByTime, source: Source | None = None
) -> dict[str, Any]:
    """Messages that failed (with why) or were applied with values left out, newest first."""
    return await _page(workspace.id, pool, paging, source, failed_only=True)


@router.get("/ingestion", response_model=Page[IngestedPublic])
async def ingested(
    workspace: CurrentWorkspace, pool: Pool, paging: PageByTime, source: Source | None = None
) -> dict[str, Any]:
    """Every message received (the last KEEP_DAYS days), newest first, with its outcome."""
    return await _page(workspace.id, pool, paging, source, failed_only=False)


async def _page(
    workspace_id: str, pool: Pool, paging: Any, source: str | None, *, failed_only: bool
) -> dict[str, Any]:
    rows = await ingestion.recent(
        pool,
        workspace_id,
        failed_only=failed_only,
        source=source,
        after=paging.after,
        limit=paging.limit + 1,
    )
    shown = [IngestedPublic.model_validate(dict(r)) for r in rows]
    return paging.page(shown, lambda m: (m.received_at, m.message_id))
