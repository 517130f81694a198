"""An import's diff (SPEC §6.1): ``GET /api/imports/{id}/diff`` — per record, its result, how it
matched and each field it changed, for dry runs and real imports alike."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByRow, Pool
from services.upload.errors import not_found
from services.upload.schemas import DiffEntry, Page
from shared import diff

router = APIRouter(prefix="/api/imports", tags=["imports"])
CHUNKS_A_READ = 4  # diff rows (one per chunk) read at a time while a page fills


@router.get("/{import_id}/diff", response_model=Page[DiffEntry])
async def import_diff(
    import_id: str,
    workspace: CurrentWorkspace,
    pool: Pool,
    paging: PageByRow,
    result: Annotated[Literal["created", "updated", "unchanged", "failed"] | None, Query()] = None,
) -> dict[str, Any]:
    """The records after the cursor, in row order (those of ``result`` only, if given)."""
    if await repo.get_import(pool, workspace.id, import_id) is None:
        raise not_found("import")
    after = paging.after or 0
    scan_from = after
    data: list[dict[str, Any]] = []
    while len(data) <= paging.limit:
        chunks = await repo.diff_chunks(pool, import_id, scan_from, result, CHUNKS_A_READ)
        for chunk in chunks:
            data.extend(diff.entries(chunk["entries"], result, after))
            scan_from = chunk["last_row"]
            if len(data) > paging.limit:
                break
        if len(chunks) < CHUNKS_A_READ:
            break
    return paging.page(data, lambda e: e["row"])
