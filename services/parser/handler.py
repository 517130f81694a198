"""Parser: an import request in, the import's records out to Kafka in chunks, in source order.

decode → read the stored file as a stream → validate each record → send chunks of
``USHER_CHUNK_ROWS`` records (valid rows and failed rows of that range together) → send the end
marker. Nothing is written about rows here: the merger applies each chunk, rows and errors, in one
transaction, exactly once, so the counts stay exact whatever restarts.

Restarts: the handler is idempotent. It asks the database how many chunks were applied and sends
only the chunks after those (chunk boundaries are a fixed number of records, recorded in the
import's options, so chunk ``n`` is the same records every time).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.parser import repository as repo
from services.parser.rows import ImportOptions, RowValidator
from shared import events, values
from shared.csvfile import Detected, FileProblem, Record, iter_records
from shared.events import Envelope, ImportParsed, ImportRequested, RowChunk
from shared.logs import get_logger
from shared.settings import Settings
from shared.topics import ROW_CHUNKS
from shared.worker import PoisonMessage

log = get_logger(__name__)
TYPE_SAMPLE = 1000  # values of a new attribute read to infer its type
PROGRESS_EVERY = 1  # chunks between progress writes


class ParserHandler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.topic = ROW_CHUNKS.name(settings)

    async def __call__(self, envelope: Envelope) -> None:
        request = envelope.payload
        if not isinstance(request, ImportRequested):
            raise PoisonMessage(f"the parser does not handle {envelope.type}")
        async with self.pool.acquire() as conn:
            row = await repo.get_import(conn, request.import_id)
            if row is None:
                raise PoisonMessage(f"import {request.import_id} does not exist")
            if row["status"] in ("completed", "failed"):
                return
            resume_at = await repo.applied_chunks(conn, row["id"])
            await repo.mark_processing(conn, row["id"])
        try:
            await self._parse(row, resume_at)
        except FileProblem as exc:
            log.info("import failed: %s", exc)
            async with self.pool.acquire() as conn:
                await repo.fail_import(conn, row["id"], str(exc))

    def _path(self, row: asyncpg.Record) -> Path:
        key = row["file_key"]
        if not key or "/" in key or key.startswith("."):
            raise PoisonMessage(f"import {row['id']} has no valid stored file")
        return Path(self.settings.storage_dir) / key

    async def _parse(self, row: asyncpg.Record, resume_at: int) -> None:
        options_json: dict[str, Any] = row["options"] or {}
        options = ImportOptions.from_json(options_json)
        path = self._path(row)
        detected = Detected(
            encoding=options_json.get("encoding") or row["detected"]["encoding"],
            delimiter=options_json.get("delimiter") or row["detected"]["delimiter"],
        )
        columns: list[str] = row["columns"]
        chunk_rows = int(options_json.get("chunk_rows") or self.settings.chunk_rows)
        types = await self._attribute_types(row, columns, options, path, detected)
        validator = RowValidator(
            columns,
            ImportOptions(
                kind=options.kind,
                mapping=options.mapping,
                custom_attributes={
                    col: types[name][0] for col, name in options.custom_attributes.items()
                },
                blank_values=options.blank_values,
                date_order=options.date_order,
                default_country=options.default_country,
            ),
            {spelling: type_ for spelling, type_ in types.values()},
        )
        file_size = path.stat().st_size
        records = iter_records(path, detected)
        seq = 0
        total = 0
        pending: asyncio.Future[Any] | None = None
        rows_estimate: int | None = None
        while True:
            batch = list(itertools.islice(records, chunk_rows))
            if not batch:
                break
            total += len(batch)
            if seq >= resume_at:
                chunk = self._chunk(row, seq, batch, validator, columns)
                if pending is not None:
                    await pending  # at most one chunk in flight: back-pressure, bounded memory
                pending = await self.producer.send(
                    self.topic,
                    events.encode(chunk, correlation_id=row["id"]),
                    key=row["workspace_id"].encode(),
                )
            if rows_estimate is None:
                rows_estimate = _estimate_rows(batch, file_size, detected)
            if seq % PROGRESS_EVERY == 0:
                async with self.pool.acquire() as conn:
                    await repo.record_progress(conn, row["id"], total, rows_estimate)
            seq += 1
            await asyncio.sleep(0)
        if total == 0:
            raise FileProblem("the file has a header but no rows: add at least one row to import")
        if pending is not None:
            await pending
        done = ImportParsed(
            import_id=row["id"], workspace_id=row["workspace_id"], chunks=seq, rows=total
        )
        await self.producer.send_and_wait(
            self.topic,
            events.encode(done, correlation_id=row["id"]),
            key=row["workspace_id"].encode(),
        )
        async with self.pool.acquire() as conn:
            await repo.record_progress(conn, row["id"], total, total)
        log.info("import parsed", extra={"rows": total, "chunks": seq, "resumed_at": resume_at})

    def _chunk(
        self,
        row: asyncpg.Record,
        seq: int,
        batch: list[Record],
        validator: RowValidator,
        columns: list[str],
    ) -> RowChunk:
        good: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        for record in batch:
            if record.error is not None:
                bad.append({"row": record.row, "errors": [record.error], "cells": record.cells})
                continue
            normalised, errors = validator(record.cells)
            if normalised is None:
                bad.append({"row": record.row, "errors": errors, "cells": record.cells})
            else:
                normalised["_row"] = record.row
                good.append(normalised)
        return RowChunk(
            import_id=row["id"],
            workspace_id=row["workspace_id"],
            seq=seq,
            kind=row["kind"],
            tag=row["tag"],
            trigger_messages=row["trigger_messages"],
            rows=good,
            errors=bad,
        )

    async def _attribute_types(
        self,
        row: asyncpg.Record,
        columns: list[str],
        options: ImportOptions,
        path: Path,
        detected: Detected,
    ) -> dict[str, tuple[str, str]]:
        """Fix the type of each custom attribute: existing ones keep theirs, new ones are
        inferred from the first values of their column in this import."""
        if not options.custom_attributes:
            return {}
        position = {name: i for i, name in enumerate(columns)}
        samples: dict[str, list[str]] = {name: [] for name in options.custom_attributes.values()}
        for record in itertools.islice(_good(iter_records(path, detected)), TYPE_SAMPLE * 10):
            for column, name in options.custom_attributes.items():
                cell = record.cells[position[column]].strip()
                if cell and len(samples[name]) < TYPE_SAMPLE:
                    samples[name].append(cell)
            if all(len(s) >= TYPE_SAMPLE for s in samples.values()):
                break
        inferred = {name: values.infer_type(s) for name, s in samples.items()}
        async with self.pool.acquire() as conn:
            return await repo.ensure_attributes(conn, row["workspace_id"], inferred)


def _good(records: Iterator[Record]) -> Iterator[Record]:
    return (r for r in records if r.error is None)


def _estimate_rows(batch: list[Record], file_size: int, detected: Detected) -> int | None:
    """Records in the file, guessed from the size of the first chunk's records."""
    width = 2 if detected.encoding == "utf-16" else 1
    size = sum(sum(len(c) + 1 for c in r.cells) + 1 for r in batch) * width
    if size == 0:
        return None
    return max(len(batch), round(file_size * len(batch) / size))
