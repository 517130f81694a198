"""Upload service: the HTTP API and the web UI. ``python -m services.upload.main``.

Wiring and lifecycle only: the lifespan opens the database pool and the Kafka producer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from services.upload import errors
from services.upload.auth import Limits
from services.upload.group_commit import GroupCommit
from services.upload.guard import Guard
from services.upload.mail_check import MailCheck
from services.upload.pagination import Cursors
from services.upload.routers import (
    audiences,
    bulk,
    channels,
    conflicts,
    events,
    import_diff,
    import_errors,
    imports,
    ingestion,
    intercom,
    mappings,
    messages,
    meta,
    people,
    remote,
    segment,
    session,
    workspaces,
)
from shared import db, outbound
from shared.kafka import make_producer
from shared.logs import setup_logging
from shared.runtime import tune_gc
from shared.settings import Settings, get_settings
from shared.topics import CONTACT_CHANGES

UI_DIR = Path(__file__).with_name("ui")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await db.create_pool(
            settings.database_url,
            max(settings.db_pool_size, 8),
            statement_timeout_s=settings.api_statement_timeout_s,
            server_settings=db.CUSTOM_PLANS,
        )
        app.state.producer = make_producer(settings)
        await app.state.producer.start()
        app.state.group_commit = GroupCommit(
            app.state.pool, app.state.producer, CONTACT_CHANGES.name(settings)
        )
        try:
            yield
        finally:
            await app.state.producer.stop()
            await app.state.pool.close()

    app = FastAPI(
        title="Usher",
        version="0.1.0",
        description="Import people, merge them by identity rules, deliver live messages once.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN: off unless USHER_API_DOCS is set.
        docs_url="/docs" if settings.api_docs else None,
        redoc_url="/redoc" if settings.api_docs else None,
    )
    app.state.settings = settings
    app.state.limits = Limits.from_settings(settings)
    app.state.cursors = Cursors.from_settings(settings)
    app.state.outbound = outbound.Policy.from_settings(settings)
    app.state.mail_check = MailCheck(settings)
    errors.install(app)
    app.add_middleware(Guard)
    for router in (
        workspaces,
        session,
        imports,
        import_diff,
        import_errors,
        remote,
        bulk,
        people,
        events,
        messages,
        channels,
        audiences,
        conflicts,
        mappings,
        segment,
        intercom,
        ingestion,
        meta,
    ):
        app.include_router(router.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        await app.state.pool.fetchval("SELECT 1")
        return JSONResponse({"status": "ok"})

    if UI_DIR.exists():
        app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(UI_DIR / "index.html")

    return app


def main() -> None:
    settings = get_settings()
    setup_logging("upload", settings.log_level)
    app = create_app(settings)
    tune_gc()  # (the app made: its objects frozen out of the collector's scans)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
