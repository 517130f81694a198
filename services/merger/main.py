"""Merger service: wiring and lifecycle only. ``python -m services.merger.main``."""

from __future__ import annotations

from collections.abc import Awaitable

from services.merger.handler import MergerHandler
from shared import db
from shared.events import Envelope
from shared.logs import setup_logging
from shared.settings import get_settings
from shared.topics import ROW_CHUNKS
from shared.worker import Consumer, make_app, run_worker

settings = get_settings()
setup_logging("merger", settings.log_level)
app = make_app("merger", settings, default_web_port=6102)
state: dict[str, MergerHandler] = {}


async def handle(envelope: Envelope) -> Awaitable[None] | None:
    return await state["handler"](envelope)


async def on_poison(envelope: Envelope | None, reason: str) -> None:
    await state["handler"].on_poison(envelope, reason)


async def start() -> None:
    pool = await db.create_pool(
        settings.database_url,
        settings.db_pool_size,
        statement_timeout_s=settings.worker_statement_timeout_s,
    )
    state["handler"] = MergerHandler(settings, pool, consumer.producer)


consumer = Consumer(app, settings, ROW_CHUNKS, handle, on_poison=on_poison, on_start=start)

if __name__ == "__main__":
    run_worker(app)
