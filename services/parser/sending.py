"""Sending an import's chunks and its end marker, whatever the source.

One :class:`ChunkSender` per import run. At most one chunk is in flight (back-pressure, bounded
memory); the end marker is sent only once every chunk before it is acknowledged by the broker.
And the reader stays at most :data:`WINDOW` chunks ahead of the merger: a big import does not
queue thousands of chunks on its partition in front of other workspaces' imports, and a cancel
leaves at most that many behind for the merger to skip (it skips ~8 a second: faust pauses a
partition whose small stream buffer is full for a second, which real chunks' work hides).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from services.parser import repository as repo
from shared import events
from shared.events import ImportParsed, RowChunk, UndoChunk
from shared.logs import get_logger

log = get_logger(__name__)


# Chunks the reader may be ahead of the merger: 320,000 rows at 5,000 a chunk, ~25 s of merging
# — the reader rarely waits, and a cancel leaves at most ~8 s of skipping behind.
WINDOW = 64
WINDOW_POLL_S = 0.2

UNSTORABLE = (
    "this record holds a value that cannot be stored (a number beyond 64 bits or an invalid"
    " character)"
)


def quarantine(chunk: RowChunk) -> RowChunk:
    """The chunk with every record that cannot be written as JSON failed instead (validation
    should have caught it; this keeps one such value from stopping the import)."""
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for record in chunk.rows:
        try:
            orjson.dumps(record)
            rows.append(record)
        except (TypeError, orjson.JSONEncodeError):
            log.error("a record could not be encoded", extra={"row": record.get("_row")})
            errors.append({"row": record.get("_row"), "errors": [UNSTORABLE], "cells": None})
    for error in chunk.errors:
        try:
            orjson.dumps(error)
            errors.append(error)
        except (TypeError, orjson.JSONEncodeError):
            errors.append({"row": error.get("row"), "errors": [UNSTORABLE], "cells": None})
    return chunk.model_copy(update={"rows": rows, "errors": errors})


class ImportStopped(Exception):
    """The import ended while it was being read (cancelled, or failed by the merger): the
    rest of it is not sent."""


class ChunkSender:
    def __init__(
        self, producer: AIOKafkaProducer, topic: str, pool: asyncpg.Pool, row: asyncpg.Record
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.pool = pool
        self.import_id: str = row["id"]
        self.run: int = row["run"]
        self.key: bytes = row["workspace_id"].encode()
        self.pending: asyncio.Future[Any] | None = None
        self.sent = 0  # chunks of the run sent so far (with those before a resume)

    async def send(self, chunk: RowChunk | UndoChunk) -> None:
        """Queue ``chunk`` once the previous one is acknowledged."""
        try:
            value = events.encode(chunk, correlation_id=self.import_id)
        except (TypeError, orjson.JSONEncodeError):
            assert isinstance(chunk, RowChunk)  # an undo chunk holds ids only
            value = events.encode(quarantine(chunk), correlation_id=self.import_id)
        if self.pending is not None:
            await self.pending
        self.pending = await self.producer.send(self.topic, value, key=self.key)
        self.sent = max(self.sent, chunk.seq + 1)

    async def progress(self, parsed: int, estimate: int | None) -> None:
        """Record how far the source was read; raises :class:`ImportStopped` when the import
        has ended meanwhile (a cancel), so no more of it is read."""
        while True:
            async with self.pool.acquire() as conn:
                applied = await repo.record_progress(conn, self.import_id, parsed, estimate)
            if applied is None:
                raise ImportStopped(self.import_id)
            if self.sent - applied <= WINDOW:
                return
            await asyncio.sleep(WINDOW_POLL_S)  # the merger catches up (the write is a heartbeat)

    async def finish(self, workspace_id: str, chunks: int, rows: int, resumed_at: int) -> None:
        """Wait for the last chunk, then send the end marker: ``chunks`` chunks, ``rows`` rows."""
        if self.pending is not None:
            await self.pending
        done = ImportParsed(
            import_id=self.import_id,
            workspace_id=workspace_id,
            chunks=chunks,
            rows=rows,
            run=self.run,
        )
        await self.producer.send_and_wait(
            self.topic, events.encode(done, correlation_id=self.import_id), key=self.key
        )
        async with self.pool.acquire() as conn:
            await repo.record_read(conn, self.import_id, self.run, rows)
        log.info("import parsed", extra={"rows": rows, "chunks": chunks, "resumed_at": resumed_at})
