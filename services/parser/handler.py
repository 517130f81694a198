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
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.parser import repository as repo
from services.parser.sending import ChunkSender, ImportStopped
from services.parser.sources import ImportContext, Source, SourceFailed
from services.parser.sources.csv import CsvSource
from services.parser.sources.jsonfile import JsonFileSource
from services.parser.sources.mailchimp import MailchimpSource
from services.parser.sources.mixpanel import MixpanelSource
from services.parser.sources.undo import UndoSource
from shared import import_store
from shared.errors import FileProblem, PoisonMessage
from shared.events import Envelope, ImportRequested
from shared.logs import get_logger
from shared.settings import Settings
from shared.topics import ROW_CHUNKS
from shared.worker import TRANSIENT_ERRORS, Refused, fatal, run_by_the_rules

log = get_logger(__name__)
REMOTE_SOURCES = import_store.REMOTE_SOURCES
STALLED_S = 60.0  # an import this long without progress is requested again
PULL_FAILED = "the pull stopped because of an error on our side (logged); start a new import"


def source_for(name: str) -> Source:
    if name in ("csv", "mailchimp_csv"):
        return CsvSource()
    if name in ("api", "mixpanel_file"):
        return JsonFileSource()
    if name == "mailchimp":
        return MailchimpSource()
    if name == "mixpanel":
        return MixpanelSource()
    if name == "undo":
        return UndoSource()
    raise PoisonMessage(f"unknown import source {name!r}")


class ParserHandler:
    """See the module docstring. Reads are shared out fairly. File imports run beside the
    agent, a workspace's one after another (:attr:`file_chains`), ``files_in_flight`` of all
    workspaces at once. Remote pulls: at most ``pulls_per_workspace`` of one workspace and
    ``pulls_in_flight`` in all run at once; a pull that finds no free slot waits in
    :attr:`waiting` (its request acked, the agent goes on) and starts when one frees. A parser
    that dies forgets those queues; the requests not yet acked come again, and the
    stalled-import timer requests the others again."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.topic = ROW_CHUNKS.name(settings)
        self.pulling: dict[str, str] = {}  # import id -> workspace id, of the pulls running
        self.waiting: dict[str, str] = {}  # the same, of the pulls waiting for a slot, in order
        self.background: set[asyncio.Task[None]] = set()
        self.files: dict[str, str] = {}  # import id -> workspace id, of the file reads held
        self.file_chains: dict[str, asyncio.Task[None]] = {}  # workspace id -> its last read
        self.file_slots = asyncio.Semaphore(settings.files_in_flight)

    async def __call__(self, envelope: Envelope) -> Awaitable[None] | None:
        request = envelope.payload
        if not isinstance(request, ImportRequested):
            raise PoisonMessage(f"the parser does not handle {envelope.type}")
        held = (self.pulling, self.waiting, self.files)
        if any(request.import_id in imports for imports in held):
            return None  # a re-request of an import this process has in hand
        async with self.pool.acquire() as conn:
            found = await repo.import_route(conn, request.import_id)
        if found is None:
            raise PoisonMessage(f"import {request.import_id} does not exist")
        source_name, workspace_id = found
        # Every read runs beside the agent, its message acked once it is done (shared.worker):
        # one workspace's big file, or a vendor's back-off, holds up no other workspace.
        if source_name not in REMOTE_SOURCES:
            return self._start_file(request.import_id, workspace_id)
        if not self._has_slot(workspace_id):  # it stays queued until a slot frees
            log.info("a remote pull waits for a free slot", extra={"import_id": request.import_id})
            self.waiting[request.import_id] = workspace_id
            return None
        prepared = await self._prepare(request.import_id)
        if prepared is None:
            return None
        source, ctx, row = prepared
        return self._start_pull(source, ctx, row)

    def _start_file(self, import_id: str, workspace_id: str) -> asyncio.Task[None]:
        """Read a file import (a stored file, an undo) beside the agent. A workspace's file
        imports are read one after another, in the order requested (their chunks reach its
        partition in that order), and ``files_in_flight`` of all workspaces at most at once."""
        before = self.file_chains.get(workspace_id)
        task = asyncio.create_task(self._read_file(import_id, before))
        self.files[import_id] = workspace_id
        self.file_chains[workspace_id] = task

        def done(_task: asyncio.Task[None]) -> None:
            self.files.pop(import_id, None)
            if self.file_chains.get(workspace_id) is task:
                del self.file_chains[workspace_id]

        task.add_done_callback(done)
        return task

    async def _read_file(self, import_id: str, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # the workspace's import requested before this one
        async with self.file_slots:
            outcome = await run_by_the_rules(
                lambda: self._read_file_now(import_id), what=f"reading import {import_id}"
            )
        if isinstance(outcome, Refused):  # recorded where a user sees it (transient: retried)
            reason = f"the import stopped: {outcome.reason}"
            await run_by_the_rules(
                lambda: import_store.fail(self.pool, import_id, reason), what="failing an import"
            )

    async def _read_file_now(self, import_id: str) -> None:
        prepared = await self._prepare(import_id)
        if prepared is not None:
            await self._run(*prepared)

    async def _prepare(self, import_id: str) -> tuple[Source, ImportContext, Any] | None:
        """Read the import and mark it processing; None when there is nothing to do."""
        async with self.pool.acquire() as conn:
            row = await repo.get_import(conn, import_id)
            if row is None:
                raise PoisonMessage(f"import {import_id} does not exist")
            if row["status"] in ("completed", "failed", "cancelled"):
                return None
            if (row["source_state"] or {}).get("pulled"):
                return None  # every page went to Kafka already; the merger finishes the import
            resume_at = await repo.applied_chunks(conn, row["id"])
            resume_rows = await repo.applied_rows(conn, row["id"]) if resume_at else 0
            await repo.mark_processing(conn, row["id"])
        ctx = ImportContext(
            settings=self.settings,
            pool=self.pool,
            row=row,
            sender=ChunkSender(self.producer, self.topic, self.pool, row),
            resume_at=resume_at,
            resume_rows=resume_rows,
        )
        return source_for(row["source"]), ctx, row

    def _has_slot(self, workspace_id: str) -> bool:
        mine = sum(1 for w in self.pulling.values() if w == workspace_id)
        return (
            len(self.pulling) < self.settings.pulls_in_flight
            and mine < self.settings.pulls_per_workspace
        )

    def _start_pull(self, source: Source, ctx: ImportContext, row: Any) -> asyncio.Task[None]:
        self.pulling[row["id"]] = row["workspace_id"]
        return asyncio.create_task(self._pull(source, ctx, row))

    async def _pull(self, source: Source, ctx: ImportContext, row: Any) -> None:
        """One pull, beside the agent. Whatever the vendor (or the URL) does, the import ends
        completed or failed with a message; only the worker's own infrastructure failing (the
        database, the broker) stops the process, and the pull is requested again."""
        try:
            await self._run(source, ctx, row)
        except asyncio.CancelledError:
            raise
        except TRANSIENT_ERRORS as exc:
            log.error("a remote pull lost the database or Kafka", extra={"error": repr(exc)})
            fatal(f"stopping: the pull of import {row['id']} failed; it is requested again")
        except Exception:
            log.exception("a remote pull failed", extra={"import_id": row["id"]})
            await self._fail(row, PULL_FAILED)
        finally:
            self.pulling.pop(row["id"], None)
            self._start_waiting()

    def _start_waiting(self) -> None:
        """Start the first waiting pulls whose workspace has a free slot."""
        for import_id, workspace_id in list(self.waiting.items()):
            if len(self.pulling) >= self.settings.pulls_in_flight:
                return
            if self._has_slot(workspace_id):
                del self.waiting[import_id]
                self.pulling[import_id] = workspace_id  # held while it is read again
                self._keep(asyncio.create_task(self._resume_waiting(import_id)))

    async def _resume_waiting(self, import_id: str) -> None:
        try:
            prepared = await self._prepare(import_id)
        except Exception as exc:  # the stalled-import timer asks for it again
            log.warning("a waiting pull could not start", extra={"error": repr(exc)})
            prepared = None
        self.pulling.pop(import_id, None)
        if prepared is None:
            self._start_waiting()
            return
        source, ctx, row = prepared
        self._keep(self._start_pull(source, ctx, row))

    def _keep(self, task: asyncio.Task[None]) -> None:
        """Hold a reference to a task nobody awaits (the loop keeps only weak ones)."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _run(self, source: Source, ctx: ImportContext, row: Any) -> None:
        try:
            await source.run(ctx)
        except ImportStopped:
            log.info("the import ended while it was read: the rest is not sent")
        except (FileProblem, SourceFailed) as exc:
            log.info("import failed: %s", exc)
            await self._fail(row, str(exc))

    async def _fail(self, row: Any, message: str) -> None:
        await import_store.fail(self.pool, row["id"], message)

    async def requeue_stalled(self) -> None:
        """Request again imports that made no progress for a minute (a request lost between the
        database and Kafka, a crash). Safe: the parser resumes after the chunks already
        applied, and the merger skips any it sees twice."""
        async with self.pool.acquire() as conn:
            stalled = await import_store.claim_stalled(conn, STALLED_S)
        for row in stalled:
            log.warning("re-requesting a stalled import", extra={"import_id": row["id"]})
            await import_store.request(self.producer, self.settings, row["workspace_id"], row["id"])

    async def expire_uploads(self) -> None:
        """Delete uploads that were never started, a day after the upload (a timer)."""
        async with self.pool.acquire() as conn:
            expired = await import_store.expire_uploads(conn, Path(self.settings.storage_dir))
        if expired:
            log.info("uploads never started were deleted", extra={"uploads": expired})

    async def on_poison(self, envelope: Envelope | None, reason: str) -> None:
        """An import request that cannot be processed fails its import with the reason."""
        if envelope is None or not isinstance(envelope.payload, ImportRequested):
            return
        async with self.pool.acquire() as conn:
            row = await repo.get_import(conn, envelope.payload.import_id)
        if row is not None:
            await self._fail(row, f"the import stopped: {reason}")
