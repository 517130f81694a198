"""Merger: chunks of records in, people upserted by the identity rules, changes announced.

What a chunk does, in one transaction: the workspace lock → skip it if applied already → apply
its records in memory over the contacts they can touch (shared.changes.prepare) → judge the live
audiences on the states it went through → write contacts, tags, errors, counts, the chunk
marker and the outbox row → after commit, publish the contacts-changed event. The transaction
runs in the background while the next chunk is prepared (services.merger.pipeline).

Exactly once: the chunk marker ``import_chunks(import_id, seq)`` is written in the same
transaction as its effects, so a redelivered chunk is skipped. Chunks of one import are applied
strictly in ``seq`` order (a chunk that arrives early is dead-lettered, and the parser re-sends
from the first one missing), so the final state equals applying the file's records in order.

One tenant's records never stop the merger:

* a record the engine cannot apply (a bug its data trips) fails alone: the chunk is prepared
  again without it, and it is reported with the others;
* a chunk whose write the database refuses (a value validation let through) is applied again
  record by record, each in a savepoint: the records it refuses fail with the database's
  reason, the rest are applied, and the counts stay exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.merger import repository as repo
from services.merger import undoing
from services.merger.pipeline import Carry, Pipeline
from shared import audiences, changes, diff, import_store, people_store, previews
from shared.changes import Change, Prepared
from shared.errors import PoisonMessage
from shared.events import Envelope, ImportParsed, RowChunk, UndoChunk
from shared.identity import Outcome
from shared.logs import get_logger
from shared.records import parse_dates
from shared.settings import Settings
from shared.topics import CONTACT_CHANGES
from shared.worker import PERMANENT_DB_ERRORS, Tail

log = get_logger(__name__)
UNAPPLIABLE = "this record could not be applied because of an error on our side (logged)"
# What the database (or asyncpg's encoder, for a lone surrogate) refuses in the data itself.
REFUSED: tuple[type[BaseException], ...] = (*PERMANENT_DB_ERRORS, UnicodeEncodeError)


@dataclass
class Report:
    """What a chunk's records came to: the error report's rows (every failed record, and every
    record applied with values left out) and the chunk's diff."""

    errors: list[dict[str, Any]]
    diff: diff.ChunkDiff
    warned: int  # records applied with values left out
    # Records the identity rules could not place (an ambiguous email), for the conflict queue.
    conflicts: list[dict[str, Any]]
    _packing: asyncio.Future[bytes] | None = field(default=None, init=False, repr=False)

    def packed(self) -> asyncio.Future[bytes]:
        """The diff's entries as stored (diff.pack), compressed in a thread from the first
        call: the merger starts it as soon as a chunk prepared beside the tail in flight has
        its report, so that under the lock they are ready."""
        if self._packing is None:
            self._packing = asyncio.ensure_future(asyncio.to_thread(diff.pack, self.diff.entries))
        return self._packing


@dataclass
class Applied:
    """A chunk applied in memory: the batch, what its records came to, and the contact rows
    its tail writes (taken when it was prepared: nothing changes its people before its tail
    starts, and the chunk after it goes on changing them from then on)."""

    prepared: Prepared
    report: Report
    rows: people_store.Rows


class MergerHandler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.topic = CONTACT_CHANGES.name(settings)
        self.pipe = Pipeline(pool)

    async def __call__(self, envelope: Envelope) -> Tail | None:
        payload = envelope.payload
        if isinstance(payload, RowChunk):
            return await self.apply_chunk(payload)
        await self.pipe.drain()
        if isinstance(payload, UndoChunk):
            await self.apply_undo(payload)
            return None
        if isinstance(payload, ImportParsed):
            async with self.pool.acquire() as conn, conn.transaction():
                await changes.lock(conn, payload.workspace_id)
                await repo.record_end(
                    conn, payload.import_id, payload.run, payload.chunks, payload.rows
                )
            return None
        raise PoisonMessage(f"the merger does not handle {envelope.type}")

    async def drain(self) -> None:
        """Wait for the chunk in flight to commit."""
        await self.pipe.drain()

    async def apply_chunk(self, chunk: RowChunk) -> Tail | None:
        """Apply one chunk; returns its tail (the commit in flight) when it runs in the
        background, the message to be acked once that is done. A dry run's chunk (SPEC §6.1)
        goes the same way, but writes its people to the dry run's own tables
        (shared.previews) and notes who its messages would reach instead of announcing."""
        await _yield()  # (the tail in flight answered while the chunk was decoded: it goes on)
        ws = chunk.workspace_id
        preview = _preview(chunk)
        carry = self.pipe.take_carry(ws, preview, chunk.run)
        applied: Applied | None = None
        judged: audiences.Judged | None = None
        if carry is not None:  # prepared now, beside the tail in flight
            async with self.pool.acquire() as conn:
                try:
                    applied = await self._prepare(conn, chunk, carry)
                    applied.report.packed()
                    if chunk.trigger_messages:
                        # Its audiences too: under the lock they are only checked against what
                        # they were judged on (audiences.judge's ``earlier``), not evaluated.
                        engine = applied.prepared.engine
                        judged = await audiences.judge_early(
                            conn, ws, engine, engine.now, chunk.suppress_messages
                        )
                except changes.Unappliable:
                    carry = None  # it changed the carried contacts: prepared again under the lock
                except asyncpg.UndefinedTableError:
                    carry = None  # the dry run ended meanwhile (its tables dropped): _begin tells
        if not await self.pipe.drain():
            applied = carry = None
        conn, tx = await self.pipe.begin()
        try:
            version = await self._begin(conn, chunk)
            if version is None:
                await self.pipe.abandon(conn, tx)
                return None
            if applied is None or carry is None or carry.version != version:
                if applied is not None:
                    log.info("another writer came between chunks: preparing again")
                applied = await self._prepare_all(conn, chunk)
            change = verdict = None
            engine = applied.prepared.engine
            if chunk.trigger_messages and preview is not None:
                verdict = await audiences.judge(
                    conn, ws, engine, engine.now, chunk.suppress_messages, earlier=judged
                )
            elif chunk.trigger_messages:
                change = await changes.announce(
                    conn,
                    ws,
                    self.topic,
                    engine=engine,
                    import_id=chunk.import_id,
                    suppressed=chunk.suppress_messages,
                    judged=judged,
                )
            # The chunk's own rows (its report, diff, counts, marker, event) are written here,
            # in the foreground, where each round trip is quick: in the tail each would wait for
            # a slice of the next chunk's preparation to end before the next could go out.
            if verdict is not None:
                await previews.add_reach(conn, chunk.import_id, verdict.matched)
            await self._record(conn, chunk, applied.report)
            await changes.stage(conn, change)
        except BaseException:
            await self.pipe.abandon(conn, tx)
            raise
        # The next chunk's engine goes on changing these people (as committed by then: no
        # longer new); what the tail writes was taken when the chunk was prepared.
        prepared = applied.prepared
        for contact in prepared.engine.changed.values():
            contact.is_new = False
        next_carry = Carry(
            ws,
            preview,
            chunk.run,
            dict(prepared.engine.changed),
            prepared.engine.index,
            prepared.engine.created,
            dict(prepared.spelling.known),
            version if preview is not None else version + 1,  # a dry run writes no people
        )
        tail = self._tail(conn, tx, chunk, applied, change)
        return await self.pipe.run(tail, next_carry, f"chunk {chunk.seq} of {chunk.import_id}")

    async def apply_undo(self, chunk: UndoChunk) -> None:
        """One chunk of an undo, in one transaction with its marker (shared.undo)."""
        async with self.pool.acquire() as conn, conn.transaction():
            if await self._begin(conn, chunk) is None:
                return
            entries = await repo.diff_entries(conn, chunk.undo_of, chunk.source_seq)
            done = await undoing.undo_chunk(conn, chunk.workspace_id, chunk.import_id, entries)
            await repo.write_errors(conn, chunk.import_id, done.errors)
            await repo.record_undo_chunk(
                conn,
                chunk.import_id,
                chunk.seq,
                deleted=done.deleted,
                reverted=done.reverted,
                conflicts=done.conflicts,
            )

    async def _begin(self, conn: asyncpg.Connection, chunk: RowChunk | UndoChunk) -> int | None:
        """In the chunk's transaction: take the workspace lock; the workspace's people_version,
        or None when the chunk is applied already or its import is over; PoisonMessage when it
        arrived out of order."""
        await changes.lock(conn, chunk.workspace_id)
        state = await repo.chunk_state(conn, chunk.workspace_id, chunk.import_id, chunk.seq)
        if state is None:
            raise PoisonMessage(f"import {chunk.import_id} does not exist")
        if state.run != chunk.run:
            return None  # left over from an earlier run of the import (a dry run before it)
        if state.done or state.status in import_store.FINISHED:
            return None
        if chunk.seq != state.applied:
            raise PoisonMessage(
                f"chunk {chunk.seq} of import {chunk.import_id} arrived before chunk"
                f" {state.applied}"
            )
        if chunk.dry_run and chunk.seq == 0:
            await previews.create(conn, chunk.import_id)
        return state.people_version

    async def _prepare_all(self, conn: asyncpg.Connection, chunk: RowChunk) -> Applied:
        """:meth:`_prepare` from the database, leaving out each record the engine raises on."""
        skip: set[int] = set()
        while True:
            try:
                return await self._prepare(conn, chunk, None, skip)
            except changes.Unappliable as exc:
                log.exception("a record could not be applied", extra={"row": exc.row})
                skip.add(exc.row)

    async def _prepare(
        self,
        conn: asyncpg.Connection,
        chunk: RowChunk,
        carry: Carry | None,
        skip: set[int] | frozenset[int] = frozenset(),
    ) -> Applied:
        """The chunk's records applied in memory (shared.changes.prepare), with the chunk still
        committing carried over as it will be; records numbered in ``skip`` fail. Raises
        ``changes.Unappliable`` with the record's number when the engine raises on one."""
        rows = chunk.rows
        try:
            prepared = await changes.prepare(
                conn,
                chunk.workspace_id,
                rows,
                chunk.kind,
                chunk.tag,
                carried=carry.changed if carry is not None else None,
                carried_index=carry.index if carry is not None else None,
                carried_tags=carry.tags if carry is not None else None,
                carried_created=carry.created if carry is not None else None,
                skip={i for i, r in enumerate(rows) if r["_row"] in skip} if skip else frozenset(),
                # Let the previous chunk's tail send its next statement: PostgreSQL works on it
                # while this loop goes on, instead of waiting for the whole loop.
                pause=_yield,
                preview=_preview(chunk),
                # The records' dates are parsed while their contacts are read.
                meanwhile=lambda: _parse_dates(rows),
                solitary=True,
            )
        except changes.Unappliable as exc:
            raise changes.Unappliable(rows[exc.row]["_row"]) from exc
        # The report is ~20 ms of Python at once: the tail in flight sends its next statement
        # before and after it (PostgreSQL works on it meanwhile), not only once it is done.
        await _yield()
        report = _report(chunk, prepared.outcomes, prepared.again)
        await _yield()
        # The rows are taken here: for a chunk prepared beside the tail in flight, not under the
        # lock.
        engine = prepared.engine
        written = people_store.contact_rows(
            chunk.workspace_id, engine.changed.values(), engine.created.values()
        )
        return Applied(prepared, report, written)

    async def _tail(
        self,
        conn: asyncpg.Connection,
        tx: Any,
        chunk: RowChunk,
        applied: Applied,
        change: Change | None,
    ) -> None:
        """Write the prepared chunk's people, commit, then publish its event."""
        prepared = applied.prepared
        try:
            ws = chunk.workspace_id
            fresh = prepared.spelling.fresh.values()
            await changes.write(conn, ws, applied.rows, fresh, preview=_preview(chunk))
        except REFUSED as exc:
            await self.pipe.abandon(conn, tx)
            log.warning(
                "the database refused a chunk: applying it record by record",
                extra={"import_id": chunk.import_id, "seq": chunk.seq, "error": repr(exc)},
            )
            self.pipe.spoil()
            await self._one_by_one(chunk)
            return
        except BaseException:
            await self.pipe.abandon(conn, tx)
            raise
        await self.pipe.commit(conn, tx)
        await changes.publish(self.producer, change, wait=False)

    async def _record(self, conn: asyncpg.Connection, chunk: RowChunk, report: Report) -> None:
        """The chunk's error report rows, diff, counts and marker (ending the import if last)."""
        await repo.write_errors(conn, chunk.import_id, report.errors)
        await repo.write_diff(conn, chunk.import_id, report.diff, await report.packed())
        if not chunk.dry_run:
            await repo.write_conflicts(conn, chunk, report.conflicts)
        counts = report.diff
        await repo.record_chunk(
            conn,
            chunk.import_id,
            chunk.seq,
            rows=len(chunk.rows) + len(chunk.errors),
            created=counts.created,
            updated=counts.updated + counts.unchanged,
            failed=counts.failed,
            unchanged=counts.unchanged,
            warned=report.warned,
        )

    async def _one_by_one(self, chunk: RowChunk) -> None:
        """Apply a chunk whose write the database refused, each record in a savepoint: those it
        refuses fail with its reason. The event carries no verdict (the messenger judges the
        changed people on the database); a dry run judges each record as it goes."""
        ws = chunk.workspace_id
        preview = _preview(chunk)
        changed: list[str] = []
        records: list[dict[str, Any]] = []
        outcomes: list[Outcome | None] = []
        refused: list[dict[str, Any]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if await self._begin(conn, chunk) is None:
                return
            for record in chunk.rows:
                one = chunk.model_copy(update={"rows": [record], "errors": []})
                try:
                    async with conn.transaction():
                        applied = await self._prepare_all(conn, one)
                        engine = applied.prepared.engine
                        fresh = applied.prepared.spelling.fresh.values()
                        await changes.write(conn, ws, applied.rows, fresh, preview=preview)
                        if preview is not None and chunk.trigger_messages:
                            verdict = await audiences.judge(
                                conn, ws, engine, engine.now, chunk.suppress_messages
                            )
                            await previews.add_reach(conn, chunk.import_id, verdict.matched)
                except REFUSED as exc:
                    reason = f"the database refused this record: {exc}"
                    refused.append({"row": record["_row"], "errors": [reason], "cells": None})
                    continue
                records.append(record)
                outcomes.extend(applied.prepared.outcomes)
                changed.extend(engine.changed_ids())
            everything = chunk.model_copy(
                update={"rows": records, "errors": [*chunk.errors, *refused]}
            )
            await self._record(conn, chunk, _report(everything, outcomes, []))
            change = None
            if chunk.trigger_messages and preview is None:
                change = await changes.announce(
                    conn,
                    ws,
                    self.topic,
                    contact_ids=changed,
                    import_id=chunk.import_id,
                    suppressed=chunk.suppress_messages,
                )
            await changes.stage(conn, change)
        await changes.publish(self.producer, change)

    async def on_poison(self, envelope: Envelope | None, reason: str) -> None:
        """A chunk that cannot be applied is reported on its import, never dropped silently."""
        if envelope is None or not isinstance(envelope.payload, RowChunk):
            return
        chunk = envelope.payload
        if "arrived before chunk" in reason:
            return  # the parser re-sends it in order; nothing is lost
        async with self.pool.acquire() as conn:
            message = f"chunk {chunk.seq} could not be applied: {reason}"
            await import_store.fail(conn, chunk.import_id, message)


async def _yield() -> None:
    await asyncio.sleep(0)


def _preview(chunk: RowChunk) -> str | None:
    """The dry run a chunk belongs to (its import id), or None for a real import."""
    return chunk.import_id if chunk.dry_run else None


def _report(chunk: RowChunk, outcomes: Sequence[Outcome | None], again: Sequence[int]) -> Report:
    """What the chunk's records came to, given the outcome of each (None: not applied) and the
    indexes of those that changed someone again (a dry run's duplicates)."""
    rows = chunk.rows
    errors: list[dict[str, Any]] = list(chunk.errors)
    conflicts: list[dict[str, Any]] = []
    warned = 0
    for record, outcome in zip(rows, outcomes, strict=True):
        warnings = record.get("_warnings")
        if outcome is None or outcome.result == "failed":
            reasons = list(outcome.errors) if outcome is not None else [UNAPPLIABLE]
            if outcome is not None and outcome.candidates:
                conflicts.append(
                    {"row": record["_row"], "record": record, "candidates": outcome.candidates}
                )
            error = {"row": record["_row"], "errors": reasons, "cells": None}
            if warnings:
                error["warnings"] = warnings
            errors.append(error)
        elif warnings:
            warned += 1
            errors.append(
                {"row": record["_row"], "errors": [], "cells": None, "warnings": warnings}
            )
    failures = [e for e in errors if e["errors"]]
    chunk_diff = diff.build(
        chunk.seq, rows, outcomes, failures, again=[rows[i]["_row"] for i in again]
    )
    return Report(errors, chunk_diff, warned, conflicts)


def _parse_dates(rows: list[dict[str, Any]]) -> None:
    for record in rows:
        parse_dates(record)
