"""Merger: chunks of records in, people upserted by the identity rules, changes announced.

decode → (one transaction: workspace lock → skip if applied → load the contacts the chunk can
touch → apply the records one by one in memory → judge live audiences → write contacts, tags,
errors, counts, the chunk marker and the outbox row) → after commit, publish the
contacts-changed event.

Exactly once: the chunk marker ``import_chunks(import_id, seq)`` is written in the same
transaction as its effects, so a redelivered chunk is skipped. Chunks of one import are applied
strictly in ``seq`` order (a chunk that arrives early is dead-lettered, and the parser re-sends
from the first one missing), so the final state equals applying the file's records in order.

Pipelined: while chunk n's writes and commit run in the background (its *tail*), chunk n+1 is
prepared — its contacts read on another connection and its records applied in memory. That read
happens under chunk n's workspace lock, so it sees the state before chunk n; the people chunk n
changed are carried over in their state after it. Chunk n+1's transaction then checks the
workspace's ``people_version``: if anyone else wrote the workspace's people in between, the
preparation is thrown away and done again under the lock. A chunk's message is acked only after
its tail committed; a tail that fails for the worker's own reasons (the database went away)
stops the process (exit 70, nothing acked), and the first chunk after a start runs in the
foreground, where the worker's usual failure rules apply.

One tenant's records never stop the merger:

* a record the engine cannot apply (a bug its data trips) fails alone: the chunk is prepared
  again without it, and it is reported with the others;
* a chunk whose write the database refuses (a value validation let through) is applied again
  record by record, each in a savepoint: the records it refuses fail with the database's
  reason, the rest are applied, and the counts stay exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.merger import repository as repo
from shared import audiences, events, people_store
from shared.events import ContactsChanged, Envelope, ImportParsed, RowChunk
from shared.identity import Contact, Engine, Index
from shared.ids import new_id
from shared.logs import get_logger
from shared.settings import Settings
from shared.topics import CONTACT_CHANGES
from shared.worker import PERMANENT_DB_ERRORS, PoisonMessage, fatal

log = get_logger(__name__)
_DATES = ("signed_up_at", "last_seen_at")
YIELD_EVERY = 250  # records applied between chances for the tail in flight to go on


@dataclass
class _Carry:
    """What a chunk whose tail is still committing leaves for the next chunk of its workspace."""

    workspace_id: str
    changed: dict[str, Contact]  # its people as they will be committed
    tags: dict[str, str]  # folded tag name -> the workspace's spelling, after the chunk
    version: int  # the workspace's people_version once it committed


@dataclass
class _Prepared:
    """A chunk applied in memory, not written yet."""

    engine: Engine
    spelling: people_store.TagSpelling
    created: int
    updated: int
    errors: list[dict[str, Any]]
    now: datetime


class _Unappliable(Exception):
    """The engine raised on one record: it fails alone and the chunk is prepared again."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row


UNAPPLIABLE = "this record could not be applied because of an error on our side (logged)"
# What the database (or asyncpg's encoder, for a lone surrogate) refuses in the data itself.
REFUSED: tuple[type[BaseException], ...] = (*PERMANENT_DB_ERRORS, UnicodeEncodeError)


class MergerHandler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.changes_topic = CONTACT_CHANGES.name(settings)
        self.inflight: asyncio.Task[None] | None = None
        self.carry: _Carry | None = None
        self.pipelined = False  # the first chunk after a start runs in the foreground
        self.reapplied = False  # a chunk was applied record by record: its carry is not valid

    async def __call__(self, envelope: Envelope) -> Awaitable[None] | None:
        payload = envelope.payload
        if isinstance(payload, RowChunk):
            return await self.apply_chunk(payload)
        await self.drain()
        if isinstance(payload, ImportParsed):
            async with self.pool.acquire() as conn, conn.transaction():
                await people_store.lock_workspace(conn, payload.workspace_id)
                await repo.record_end(conn, payload.import_id, payload.chunks, payload.rows)
            return None
        raise PoisonMessage(f"the merger does not handle {envelope.type}")

    async def drain(self) -> None:
        """Wait for the chunk in flight to commit."""
        if self.inflight is not None:
            inflight, self.inflight = self.inflight, None
            await inflight

    async def apply_chunk(self, chunk: RowChunk) -> Awaitable[None] | None:
        """Apply one chunk; returns its tail (the commit in flight) when it runs in the
        background, the message to be acked once that is done."""
        _parse_dates(chunk.rows)
        carry, self.carry = self.carry, None
        prepared: _Prepared | None = None
        if carry is not None and carry.workspace_id == chunk.workspace_id:
            async with self.pool.acquire() as conn:
                try:
                    prepared = await self._prepare(conn, chunk, carry)
                except _Unappliable:
                    carry = None  # it changed the carried contacts: prepared again under the lock
        else:
            carry = None
        await self.drain()
        if self.reapplied:
            self.reapplied = False
            prepared = carry = None
        conn = await self.pool.acquire()
        tx = conn.transaction()
        try:
            await tx.start()
            if not await self._begin(conn, chunk):
                await self._abandon(conn, tx)
                return None
            version = await people_store.people_version(conn, chunk.workspace_id)
            if prepared is None or carry is None or carry.version != version:
                if prepared is not None:
                    log.info("another writer came between chunks: preparing again")
                prepared = await self._prepare_all(conn, chunk)
            event = await self._announce(conn, chunk, prepared)
        except BaseException:
            await self._abandon(conn, tx)
            raise
        # What the tail writes is taken now: the next chunk's engine goes on changing these
        # people (as committed by then: no longer new).
        rows = people_store.contact_rows(chunk.workspace_id, prepared.engine.changed.values())
        for contact in prepared.engine.changed.values():
            contact.is_new = False
        self.carry = _Carry(
            chunk.workspace_id,
            dict(prepared.engine.changed),
            dict(prepared.spelling.known),
            version + 1,
        )
        tail = self._tail(conn, tx, chunk, prepared, rows, event)
        if not self.pipelined:
            try:
                await tail
            except BaseException:
                self.carry = None
                raise
            self.pipelined = True
            return None
        self.inflight = asyncio.create_task(self._guarded(tail, chunk))
        return self.inflight

    async def _begin(self, conn: asyncpg.Connection, chunk: RowChunk) -> bool:
        """In the chunk's transaction: take the workspace lock; False when the chunk is applied
        already or its import is over; PoisonMessage when it arrived out of order."""
        await people_store.lock_workspace(conn, chunk.workspace_id)
        status = await repo.import_status(conn, chunk.import_id)
        if status is None:
            raise PoisonMessage(f"import {chunk.import_id} does not exist")
        done, applied = await repo.chunk_state(conn, chunk.import_id, chunk.seq)
        if done or status in ("completed", "failed"):
            return False
        if chunk.seq != applied:
            raise PoisonMessage(
                f"chunk {chunk.seq} of import {chunk.import_id} arrived before chunk {applied}"
            )
        return True

    async def _prepare_all(self, conn: asyncpg.Connection, chunk: RowChunk) -> _Prepared:
        """:meth:`_prepare` from the database, leaving out each record the engine raises on."""
        skip: set[int] = set()
        while True:
            try:
                return await self._prepare(conn, chunk, None, skip)
            except _Unappliable as exc:
                log.exception("a record could not be applied", extra={"row": exc.row})
                skip.add(exc.row)

    async def _prepare(
        self,
        conn: asyncpg.Connection,
        chunk: RowChunk,
        carry: _Carry | None,
        skip: set[int] | frozenset[int] = frozenset(),
    ) -> _Prepared:
        """Apply the chunk's records in memory, over the contacts they can touch: read from the
        database, and (``carry``) those of the chunk still committing as they will be. Records
        numbered in ``skip`` fail; one the engine raises on raises :class:`_Unappliable`."""
        rows = chunk.rows
        user_ids = [r["user_id"] for r in rows if r.get("user_id") is not None]
        emails = [r["email"] for r in rows if r.get("email") is not None]
        contacts = await people_store.load_contacts(conn, chunk.workspace_id, user_ids, emails)
        tag_names = [t for r in rows for t in r.get("tags") or ()]
        if chunk.tag:
            tag_names.append(chunk.tag)
        known = await people_store.load_tags(conn, chunk.workspace_id, tag_names)
        if carry is not None:
            contacts = [c for c in contacts if c.id not in carry.changed]
            contacts.extend(carry.changed.values())
            known.update(carry.tags)
        spelling = people_store.TagSpelling(known)
        now = datetime.now(UTC)
        engine = Engine(
            Index(contacts), now=now, new_id=lambda: new_id("c_"), canonical_tag=spelling
        )
        created = updated = 0
        errors: list[dict[str, Any]] = list(chunk.errors)
        for i, record in enumerate(rows):
            if i % YIELD_EVERY == 0:
                # Let the previous chunk's tail send its next statement: PostgreSQL works on it
                # while this loop goes on, instead of waiting for the whole loop.
                await asyncio.sleep(0)
            if record["_row"] in skip:
                errors.append({"row": record["_row"], "errors": [UNAPPLIABLE], "cells": None})
                continue
            try:
                outcome = engine.apply(record, chunk.kind, chunk.tag)
            except Exception as exc:
                raise _Unappliable(record["_row"]) from exc
            if outcome.result == "created":
                created += 1
            elif outcome.result == "updated":
                updated += 1
            else:
                errors.append(
                    {"row": record["_row"], "errors": list(outcome.errors), "cells": None}
                )
        return _Prepared(engine, spelling, created, updated, errors, now)

    async def _announce(
        self, conn: asyncpg.Connection, chunk: RowChunk, prepared: _Prepared
    ) -> tuple[int, bytes] | None:
        """The contacts-changed event of the chunk (its outbox id and value), with the live
        audiences judged (under the lock) on the states the chunk went through; None when
        nothing can fire."""
        engine = prepared.engine
        if not engine.changed or not chunk.trigger_messages:
            return None
        # Judged here, on the states as committed: the messenger may run behind, and by then a
        # later chunk may have changed these people again.
        verdict = await audiences.judge(conn, chunk.workspace_id, engine, prepared.now)
        outbox_id = await people_store.next_outbox_id(conn)
        change = ContactsChanged(
            workspace_id=chunk.workspace_id,
            import_id=chunk.import_id,
            contact_ids=list(engine.changed),
            committed_at=prepared.now,
            outbox_id=outbox_id,
            evaluated=verdict.evaluated,
            matched=verdict.matched,
        )
        return outbox_id, events.encode(change, correlation_id=chunk.import_id)

    async def _tail(
        self,
        conn: asyncpg.Connection,
        tx: Any,
        chunk: RowChunk,
        prepared: _Prepared,
        rows: people_store.Rows,
        event: tuple[int, bytes] | None,
    ) -> None:
        """Write the prepared chunk, commit, then publish its event."""
        try:
            ws = chunk.workspace_id
            if prepared.spelling.fresh:
                await people_store.save_tags(conn, ws, prepared.spelling.fresh.values())
            await people_store.write_rows(conn, ws, rows)
            await repo.write_errors(conn, chunk.import_id, prepared.errors)
            await repo.record_chunk(
                conn,
                chunk.import_id,
                chunk.seq,
                len(chunk.rows) + len(chunk.errors),
                prepared.created,
                prepared.updated,
                len(prepared.errors),
            )
            if event is not None:
                await people_store.add_outbox(
                    conn, event[0], self.changes_topic, ws.encode(), event[1]
                )
            await tx.commit()
        except REFUSED as exc:
            await self._abandon(conn, tx)
            log.warning(
                "the database refused a chunk: applying it record by record",
                extra={"import_id": chunk.import_id, "seq": chunk.seq, "error": repr(exc)},
            )
            self.reapplied = True
            await self._one_by_one(chunk)
            return
        except BaseException:
            await self._abandon(conn, tx)
            raise
        await self.pool.release(conn)
        if event is not None:
            await self._publish(ws, event[1])

    async def _publish(self, workspace_id: str, value: bytes) -> None:
        try:
            await self.producer.send_and_wait(self.changes_topic, value, key=workspace_id.encode())
        except Exception as exc:  # the messenger's sweeper handles the outbox row later
            log.warning("contacts-changed not published now", extra={"error": repr(exc)})

    async def _one_by_one(self, chunk: RowChunk) -> None:
        """Apply a chunk whose write the database refused, each record in a savepoint: those it
        refuses fail with its reason. The event carries no verdict (the messenger judges the
        changed people on the database)."""
        ws = chunk.workspace_id
        changed: list[str] = []
        created = updated = 0
        errors: list[dict[str, Any]] = list(chunk.errors)
        async with self.pool.acquire() as conn, conn.transaction():
            if not await self._begin(conn, chunk):
                return
            for record in chunk.rows:
                one = chunk.model_copy(update={"rows": [record], "errors": []})
                try:
                    async with conn.transaction():
                        prepared = await self._prepare_all(conn, one)
                        if prepared.spelling.fresh:
                            await people_store.save_tags(conn, ws, prepared.spelling.fresh.values())
                        await people_store.write_contacts(
                            conn, ws, prepared.engine.changed.values()
                        )
                except REFUSED as exc:
                    reason = f"the database refused this record: {exc}"
                    errors.append({"row": record["_row"], "errors": [reason], "cells": None})
                    continue
                created += prepared.created
                updated += prepared.updated
                errors.extend(prepared.errors)
                changed.extend(prepared.engine.changed)
            await repo.write_errors(conn, chunk.import_id, errors)
            await repo.record_chunk(
                conn,
                chunk.import_id,
                chunk.seq,
                len(chunk.rows) + len(chunk.errors),
                created,
                updated,
                len(errors),
            )
            value: bytes | None = None
            if changed and chunk.trigger_messages:
                outbox_id = await people_store.next_outbox_id(conn)
                change = ContactsChanged(
                    workspace_id=ws,
                    import_id=chunk.import_id,
                    contact_ids=list(dict.fromkeys(changed)),
                    committed_at=datetime.now(UTC),
                    outbox_id=outbox_id,
                )
                value = events.encode(change, correlation_id=chunk.import_id)
                await people_store.add_outbox(
                    conn, outbox_id, self.changes_topic, ws.encode(), value
                )
        if value is not None:
            await self._publish(ws, value)

    async def _abandon(self, conn: asyncpg.Connection, tx: Any) -> None:
        """Roll back (when the connection still can) and give the connection back."""
        try:
            await tx.rollback()
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            pass
        finally:
            await self.pool.release(conn)

    async def _guarded(self, tail: Awaitable[None], chunk: RowChunk) -> None:
        """A background tail: if it fails, the process stops without acking (redelivery)."""
        try:
            await tail
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.error(
                "a chunk could not be committed",
                extra={"import_id": chunk.import_id, "seq": chunk.seq, "error": repr(exc)},
            )
            fatal(f"stopping: chunk {chunk.seq} of import {chunk.import_id} failed to commit")

    async def on_poison(self, envelope: Envelope | None, reason: str) -> None:
        """A chunk that cannot be applied is reported on its import, never dropped silently."""
        if envelope is None or not isinstance(envelope.payload, RowChunk):
            return
        chunk = envelope.payload
        if "arrived before chunk" in reason:
            return  # the parser re-sends it in order; nothing is lost
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE imports SET status = 'failed', error = $2, finished_at = now()"
                " WHERE id = $1 AND status NOT IN ('completed', 'failed')",
                chunk.import_id,
                f"chunk {chunk.seq} could not be applied: {reason}",
            )


def _parse_dates(rows: list[dict[str, Any]]) -> None:
    for record in rows:
        for key in _DATES:
            value = record.get(key)
            if isinstance(value, str):
                record[key] = datetime.fromisoformat(value)
