"""Merger: chunks of records in, people upserted by the identity rules, changes announced.

decode → (one transaction: workspace lock → skip if applied → load the contacts the chunk can
touch → apply the records one by one in memory → write contacts, tags, errors, counts, the
chunk marker and the outbox row) → after commit, publish the contacts-changed event.

Exactly once: the chunk marker ``import_chunks(import_id, seq)`` is written in the same
transaction as its effects, so a redelivered chunk is skipped. Chunks of one import are applied
strictly in ``seq`` order (a chunk that arrives early is dead-lettered, and the parser re-sends
from the first one missing), so the final state equals applying the file's records in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.merger import repository as repo
from shared import audiences, events, people_store
from shared.events import ContactsChanged, Envelope, ImportParsed, RowChunk
from shared.identity import Engine
from shared.ids import new_id
from shared.logs import get_logger
from shared.settings import Settings
from shared.topics import CONTACT_CHANGES
from shared.worker import PoisonMessage

log = get_logger(__name__)
_DATES = ("signed_up_at", "last_seen_at")


class MergerHandler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.changes_topic = CONTACT_CHANGES.name(settings)

    async def __call__(self, envelope: Envelope) -> None:
        payload = envelope.payload
        if isinstance(payload, RowChunk):
            await self.apply_chunk(payload)
        elif isinstance(payload, ImportParsed):
            async with self.pool.acquire() as conn, conn.transaction():
                await people_store.lock_workspace(conn, payload.workspace_id)
                await repo.record_end(conn, payload.import_id, payload.chunks, payload.rows)
        else:
            raise PoisonMessage(f"the merger does not handle {envelope.type}")

    async def apply_chunk(self, chunk: RowChunk) -> None:
        published: tuple[int, bytes] | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            await people_store.lock_workspace(conn, chunk.workspace_id)
            status = await repo.import_status(conn, chunk.import_id)
            if status is None:
                raise PoisonMessage(f"import {chunk.import_id} does not exist")
            done, applied = await repo.chunk_state(conn, chunk.import_id, chunk.seq)
            if done or status in ("completed", "failed"):
                return
            if chunk.seq != applied:
                raise PoisonMessage(
                    f"chunk {chunk.seq} of import {chunk.import_id} arrived before chunk {applied}"
                )
            published = await self._merge(conn, chunk)
        if published is not None:
            outbox_id, value = published
            await self.producer.send_and_wait(
                self.changes_topic, value, key=chunk.workspace_id.encode()
            )
            log.debug("changes published", extra={"outbox_id": outbox_id})

    async def _merge(self, conn: asyncpg.Connection, chunk: RowChunk) -> tuple[int, bytes] | None:
        rows = chunk.rows
        for record in rows:
            for key in _DATES:
                value = record.get(key)
                if value is not None:
                    record[key] = datetime.fromisoformat(value)
        user_ids = [r["user_id"] for r in rows if r.get("user_id") is not None]
        emails = [r["email"] for r in rows if r.get("email") is not None]
        index = await people_store.load_index(conn, chunk.workspace_id, user_ids, emails)
        tag_names = [t for r in rows for t in r.get("tags") or ()]
        if chunk.tag:
            tag_names.append(chunk.tag)
        spelling = await people_store.tag_spelling(conn, chunk.workspace_id, tag_names)
        now = datetime.now(UTC)
        engine = Engine(index, now=now, new_id=lambda: new_id("c_"), canonical_tag=spelling)
        created = updated = 0
        errors: list[dict[str, Any]] = list(chunk.errors)
        for record in rows:
            outcome = engine.apply(record, chunk.kind, chunk.tag)
            if outcome.result == "created":
                created += 1
            elif outcome.result == "updated":
                updated += 1
            else:
                errors.append(
                    {"row": record["_row"], "errors": list(outcome.errors), "cells": None}
                )
        if spelling.fresh:
            await people_store.save_tags(conn, chunk.workspace_id, spelling.fresh.values())
        await people_store.write_contacts(conn, chunk.workspace_id, engine.changed.values())
        await repo.write_errors(conn, chunk.import_id, errors)
        await repo.record_chunk(
            conn,
            chunk.import_id,
            chunk.seq,
            len(rows) + len(chunk.errors),
            created,
            updated,
            len(errors),
        )
        if not engine.changed or not chunk.trigger_messages:
            return None
        # Audiences are judged here, on the states as committed: the messenger may run behind,
        # and by then a later chunk may have changed these people again.
        verdict = await audiences.judge(conn, chunk.workspace_id, engine, now)
        outbox_id = await people_store.next_outbox_id(conn)
        change = ContactsChanged(
            workspace_id=chunk.workspace_id,
            import_id=chunk.import_id,
            contact_ids=list(engine.changed),
            committed_at=now,
            outbox_id=outbox_id,
            evaluated=verdict.evaluated,
            matched=verdict.matched,
        )
        value = events.encode(change, correlation_id=chunk.import_id)
        await people_store.add_outbox(
            conn, outbox_id, self.changes_topic, chunk.workspace_id.encode(), value
        )
        return outbox_id, value

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
