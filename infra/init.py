"""One-shot initialisation for a Docker deployment: ``python -m infra.init``.

Waits until PostgreSQL and Kafka answer real requests, applies the pending SQL migrations and
creates the missing Kafka topics, all from the ``USHER_*`` settings. Every step is idempotent, so
running it again (or beside another copy) is safe. Exits 0 when done; any failure propagates as
a traceback and a non-zero exit, which keeps the services that depend on it from starting.
"""

from __future__ import annotations

import asyncio
import sys

from shared import db, kafka
from shared.logs import get_logger, setup_logging
from shared.settings import Settings, get_settings

log = get_logger("infra.init")

WAIT_TIMEOUT_S = 120.0


async def initialise(settings: Settings, timeout_s: float = WAIT_TIMEOUT_S) -> None:
    """Wait for PostgreSQL and Kafka, then migrate the schema and create the topics."""
    log.info("waiting for PostgreSQL and Kafka")
    await db.wait_ready(settings.database_url, timeout_s=timeout_s)
    await kafka.wait_ready(settings.kafka_bootstrap, timeout_s=timeout_s)
    applied = await db.migrate(settings.database_url)
    log.info("migrations done", extra={"migrations_applied": applied})
    created = await kafka.ensure_topics(settings)
    log.info("topics done", extra={"topics_created": created})


def main() -> int:
    """Entry point: initialise with the process settings; returns the exit code."""
    settings = get_settings()
    setup_logging("init", settings.log_level)
    asyncio.run(initialise(settings))
    log.info("init complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
