"""Messenger service: wiring and lifecycle only. ``python -m services.messenger.main``."""

from __future__ import annotations

import asyncio

from services.messenger.handler import MessengerHandler
from shared import db
from shared.events import Envelope
from shared.logs import get_logger, setup_logging
from shared.settings import get_settings
from shared.topics import CONTACT_CHANGES, MESSAGE_ACTIVATIONS
from shared.worker import TRANSIENT_ERRORS, Consumer, make_app, run_worker

settings = get_settings()
setup_logging("messenger", settings.log_level)
log = get_logger("services.messenger")
app = make_app("messenger", settings, default_web_port=6103)
state: dict[str, MessengerHandler] = {}
starting = asyncio.Lock()


async def handle(envelope: Envelope) -> None:
    await state["handler"](envelope)


async def start() -> None:
    async with starting:  # both consumers call this; one pool
        if "handler" not in state:
            pool = await db.create_pool(
                settings.database_url,
                max(settings.db_pool_size, 8),
                statement_timeout_s=settings.worker_statement_timeout_s,
            )
            state["handler"] = MessengerHandler(settings, pool)


changes = Consumer(app, settings, CONTACT_CHANGES, handle, on_start=start)
activations = Consumer(app, settings, MESSAGE_ACTIVATIONS, handle, on_start=start)


@app.timer(interval=5.0)
async def sweep() -> None:
    handler = state.get("handler")
    if handler is None:
        return
    try:
        await handler.sweep()
    except TRANSIENT_ERRORS as exc:
        log.warning("sweep failed, will retry", extra={"error": repr(exc)})
    except Exception:  # an exception escaping a faust timer would stop the worker
        log.exception("sweep failed, will retry")


if __name__ == "__main__":
    run_worker(app)
