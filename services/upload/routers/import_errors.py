"""An import's error report: ``GET /api/imports/{id}/errors`` (CSV, or ``?format=json``), and
its failures grouped by cause: ``GET /api/imports/{id}/errors/summary``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByRow, Pool, Settings
from services.upload.error_report import Report, content_disposition, download_name
from services.upload.errors import ApiError, not_found
from services.upload.schemas import ErrorCause, ErrorRow, Page
from shared import problems

SCANNED_ROWS = 10_000  # report rows read for example rows; later chunks give the rest

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
        headers={
            "Content-Disposition": content_disposition(download_name(row["file_name"], import_id))
        },
    )


@router.get("/{import_id}/errors/summary", response_model=list[ErrorCause])
async def error_causes(
    import_id: str, workspace: CurrentWorkspace, pool: Pool
) -> list[dict[str, Any]]:
    """The import's failed records (and values left out) grouped by cause, errors first, the
    most frequent first: how many records each, the first rows with it and the fix. Counts are
    exact (the chunks' tallies); also while it runs, and after a cancel or a failure."""
    row = await repo.get_import(pool, workspace.id, import_id)
    if row is None:
        raise not_found("import")
    if row["source"] == "undo":
        raise ApiError(
            409,
            "conflict",
            "an undo fails no records: its report lists the values it kept"
            f" (GET /api/imports/{import_id}/errors)",
        )
    tallies = await repo.problem_tallies(pool, import_id)
    read: list[tuple[int, list[str], list[str]]] = []
    after = 0
    while tallies and len(read) < SCANNED_ROWS:
        batch = await repo.report_rows(pool, import_id, after, 5000)
        read.extend((r["row_no"], r["errors"], r["warnings"]) for r in batch)
        if len(batch) < 5000:
            after = 2**62  # read to the end
            break
        after = batch[-1]["row_no"]
    return problems.grouped(tallies, read, after)
