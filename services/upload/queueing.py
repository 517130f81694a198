"""Handing a new import to the parser (remote pulls and bulk bodies are queued at creation)."""

from __future__ import annotations

from fastapi import FastAPI

from services.upload import repository as repo
from services.upload.errors import ApiError
from shared import events
from shared.events import ImportRequested
from shared.topics import IMPORT_REQUESTS

UNAVAILABLE = "the import queue is not reachable; try again in a moment"


async def request_import(app: FastAPI, workspace_id: str, import_id: str) -> None:
    """Send the import request; if Kafka cannot take it, the import fails (its credentials are
    dropped) and the caller gets 503."""
    try:
        await app.state.producer.send_and_wait(
            IMPORT_REQUESTS.name(app.state.settings),
            events.encode(
                ImportRequested(import_id=import_id, workspace_id=workspace_id), import_id
            ),
            key=import_id.encode(),
        )
    except Exception:
        await repo.fail_queued_import(app.state.pool, import_id, UNAVAILABLE)
        raise ApiError(503, "unavailable", UNAVAILABLE) from None
