"""An import's error report: ``GET /api/imports/{id}/errors`` (CSV, or ``?format=json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByRow, Pool, Settings
from services.upload.error_report import Report
from services.upload.errors import not_found
from services.upload.schemas import ErrorRow, Page

router = APIRouter(prefix="/api/imports", tags=["imports"])


@router.get(
    "/{import_id}/errors",
    response_model=Page[ErrorRow],
    responses={200: {"content": {"text/csv": {}}}},
)
async def error_report(
    import_id: str,
    workspace: CurrentWorkspace,
    pool: Pool,
    settings: Settings,
    paging: PageByRow,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Any:
    """Every failed record: its row number, every error and its original values. The CSV is
    the whole report, streamed; ``format=json`` is one page of it (``limit``, ``cursor``)."""
    row = await repo.get_import(pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    report = Report(pool, Path(settings.storage_dir), row)
    if format == "json":
        data: list[dict[str, Any]] = []
        async for batch in report.pages(paging.after or 0, paging.limit + 1, 1):
            for number, errors, warnings, cells in batch:
                data.append(
                    {
                        "row": number,
                        "errors": errors,
                        "warnings": warnings,
                        "values": report.shown(cells),
                    }
                )
        return JSONResponse(paging.page(data, lambda e: e["row"]))
    return StreamingResponse(
        report.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="errors-{import_id}.csv"'},
    )
