"""Handing a new import to the parser: shared.import_store.request, with the upload service's
producer and settings. The import is queued in the database already; a request Kafka cannot take
now is sent again by the parser's stalled-import sweep (the one policy, in import_store)."""

from __future__ import annotations

from fastapi import FastAPI

from shared import import_store


async def request_import(app: FastAPI, workspace_id: str, import_id: str) -> None:
    await import_store.request(app.state.producer, app.state.settings, workspace_id, import_id)
