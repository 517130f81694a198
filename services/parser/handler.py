"""Parser: an import request in, the import's records out to Kafka in chunks, in source order.

decode → read the source as a stream (a stored CSV or JSON file, or a vendor's API page by page)
→ validate each record → send chunks (valid rows and failed rows of a range of records together)
→ send the end marker. Nothing is written about rows here: the merger applies each chunk, rows
and errors, in one transaction, exactly once, so the counts stay exact whatever restarts.

Restarts: the handler is idempotent. It asks the database how many chunks were applied and sends
only the chunks after those (chunk boundaries depend only on the source: a fixed number of
records, recorded in the import's options, or a vendor page of fixed size, so chunk ``n`` is the
same records every time). A remote pull whose pages were all sent is not pulled again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.parser import repository as repo
from services.parser.sending import ChunkSender
from services.parser.sources import ImportContext, Source, SourceFailed
from services.parser.sources.csv import CsvSource
from services.parser.sources.jsonfile import JsonFileSource
from services.parser.sources.mailchimp import MailchimpSource
from services.parser.sources.mixpanel import MixpanelSource
from shared.csvfile import FileProblem
from shared.events import Envelope, ImportRequested
from shared.logs import get_logger
from shared.settings import Settings
from shared.topics import ROW_CHUNKS
from shared.worker import PoisonMessage, fatal

log = get_logger(__name__)
REMOTE_SOURCES = ("mailchimp", "mixpanel")
MAX_PULLS = 4  # remote pulls one parser runs at once


def source_for(name: str) -> Source:
    if name in ("csv", "mailchimp_csv"):
        return CsvSource()
    if name in ("api", "mixpanel_file"):
        return JsonFileSource()
    if name == "mailchimp":
        return MailchimpSource()
    if name == "mixpanel":
        return MixpanelSource()
    raise PoisonMessage(f"unknown import source {name!r}")


class ParserHandler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.topic = ROW_CHUNKS.name(settings)
        self.pulling: set[str] = set()  # remote imports this process is pulling
        self.pull_slots = asyncio.Semaphore(MAX_PULLS)

    async def __call__(self, envelope: Envelope) -> Awaitable[None] | None:
        request = envelope.payload
        if not isinstance(request, ImportRequested):
            raise PoisonMessage(f"the parser does not handle {envelope.type}")
        if request.import_id in self.pulling:
            return None  # a re-request of a pull this process is running
        async with self.pool.acquire() as conn:
            row = await repo.get_import(conn, request.import_id)
            if row is None:
                raise PoisonMessage(f"import {request.import_id} does not exist")
            if row["status"] in ("completed", "failed"):
                return
            if (row["source_state"] or {}).get("pulled"):
                return  # every page went to Kafka already; the merger finishes the import
            resume_at = await repo.applied_chunks(conn, row["id"])
            resume_rows = await repo.applied_rows(conn, row["id"]) if resume_at else 0
            await repo.mark_processing(conn, row["id"])
        source = source_for(row["source"])
        ctx = ImportContext(
            settings=self.settings,
            pool=self.pool,
            row=row,
            sender=ChunkSender(self.producer, self.topic, self.pool, row),
            resume_at=resume_at,
            resume_rows=resume_rows,
        )
        if row["source"] not in REMOTE_SOURCES:
            await self._run(source, ctx, row)
            return None
        # A remote pull can wait on a vendor for a long time (back-off, rate limits): it runs
        # beside the agent, so the file imports queued behind it go on; its message is acked
        # once it is done (shared.worker).
        await self.pull_slots.acquire()
        self.pulling.add(row["id"])
        return asyncio.create_task(self._pull(source, ctx, row))

    async def _pull(self, source: Source, ctx: ImportContext, row: Any) -> None:
        try:
            await self._run(source, ctx, row)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.error("a remote pull failed", extra={"import_id": row["id"], "error": repr(exc)})
            fatal(f"stopping: the pull of import {row['id']} failed; it is requested again")
        finally:
            self.pulling.discard(row["id"])
            self.pull_slots.release()

    async def _run(self, source: Source, ctx: ImportContext, row: Any) -> None:
        try:
            await source.run(ctx)
        except (FileProblem, SourceFailed) as exc:
            log.info("import failed: %s", exc)
            async with self.pool.acquire() as conn:
                await repo.fail_import(conn, row["id"], str(exc))
                if row["source"] in REMOTE_SOURCES:
                    await repo.forget_secret(conn, row["id"])
