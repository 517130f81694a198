"""Parser service: wiring and lifecycle only. ``python -m services.parser.main``."""

from __future__ import annotations

from collections.abc import Awaitable

from services.parser import repository as repo
from services.parser.handler import ParserHandler
from shared import db, events
from shared.events import Envelope, ImportRequested
from shared.logs import get_logger, setup_logging
from shared.settings import get_settings
from shared.topics import IMPORT_REQUESTS
from shared.worker import TRANSIENT_ERRORS, Consumer, make_app, run_worker

settings = get_settings()
setup_logging("parser", settings.log_level)
log = get_logger("services.parser")
app = make_app("parser", settings, default_web_port=6101)
state: dict[str, ParserHandler] = {}
STALLED_S = 60.0


async def handle(envelope: Envelope) -> Awaitable[None] | None:
    return await state["handler"](envelope)


async def start() -> None:
    pool = await db.create_pool(
        settings.database_url,
        settings.db_pool_size,
        statement_timeout_s=settings.worker_statement_timeout_s,
    )
    state["handler"] = ParserHandler(settings, pool, consumer.producer)


async def on_poison(envelope: Envelope | None, reason: str) -> None:
    await state["handler"].on_poison(envelope, reason)


consumer = Consumer(app, settings, IMPORT_REQUESTS, handle, on_poison=on_poison, on_start=start)


@app.timer(interval=15.0)  # type: ignore[untyped-decorator]
async def requeue_stalled() -> None:
    """Re-request imports that made no progress for a minute. Safe: the parser resumes after the
    chunks already applied, and the merger skips any it sees twice."""
    handler = state.get("handler")
    if handler is None:
        return
    try:
        async with handler.pool.acquire() as conn:
            stalled = await repo.claim_stalled(conn, STALLED_S)
        for row in stalled:
            log.warning("re-requesting a stalled import", extra={"import_id": row["id"]})
            request = ImportRequested(import_id=row["id"], workspace_id=row["workspace_id"])
            await consumer.producer.send_and_wait(
                IMPORT_REQUESTS.name(settings),
                events.encode(request, correlation_id=row["id"]),
                key=row["id"].encode(),
            )
    except TRANSIENT_ERRORS as exc:
        log.warning("stalled-import check failed, will retry", extra={"error": repr(exc)})
    except Exception:  # an exception escaping a faust timer would stop the worker
        log.exception("stalled-import check failed, will retry")


if __name__ == "__main__":
    run_worker(app)
