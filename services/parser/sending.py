"""Sending an import's chunks and its end marker, whatever the source.

One :class:`ChunkSender` per import run. At most one chunk is in flight (back-pressure, bounded
memory); the end marker is sent only once every chunk before it is acknowledged by the broker.
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

    async def progress(self, parsed: int, estimate: int | None) -> None:
        async with self.pool.acquire() as conn:
            await repo.record_progress(conn, self.import_id, parsed, estimate)

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
        await self.progress(rows, rows)
        log.info("import parsed", extra={"rows": rows, "chunks": chunks, "resumed_at": resumed_at})
