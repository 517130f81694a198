"""Parser service: wiring and lifecycle only. ``python -m services.parser.main``."""

from __future__ import annotations

from services.parser.handler import ParserHandler
from shared import db
from shared.logs import setup_logging
from shared.settings import get_settings
from shared.topics import IMPORT_REQUESTS
from shared.worker import Consumer, make_app, run_worker

settings = get_settings()
setup_logging("parser", settings.log_level)
app = make_app("parser", settings, default_web_port=6101)
state: dict[str, ParserHandler] = {}


async def handle(envelope):  # type: ignore[no-untyped-def]
    return await state["handler"](envelope)


async def start() -> None:
    pool = await db.create_pool(settings.database_url, settings.db_pool_size)
    state["handler"] = ParserHandler(settings, pool, consumer.producer)


consumer = Consumer(app, settings, IMPORT_REQUESTS, handle, on_start=start)

if __name__ == "__main__":
    run_worker(app)
