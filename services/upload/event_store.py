"""Storing events set-based and announcing the people who got new ones (the events API, and
the compatible APIs' track calls)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from services.upload import repository as repo
from services.upload.event_input import EventIn, Stored, resolve
from shared import changes
from shared.settings import Settings
from shared.topics import CONTACT_CHANGES


class EventStore:
    """Stores batches of events of one workspace and announces the people who got new ones."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        settings: Settings,
        workspace_id: str,
    ) -> None:
        self.pool, self.producer, self.workspace_id = pool, producer, workspace_id
        self.topic = CONTACT_CHANGES.name(settings)

    async def batch(self, batch: Sequence[tuple[int, EventIn]], trigger: bool) -> Stored:
        """Store ``batch`` in one transaction (:func:`store`); publish after commit."""
        async with self.pool.acquire() as conn, conn.transaction():
            outcome, change = await store(conn, self.workspace_id, self.topic, batch, trigger)
        await changes.publish(self.producer, change)
        return outcome


async def store(
    conn: asyncpg.Connection,
    workspace_id: str,
    topic: str,
    batch: Sequence[tuple[int, EventIn]],
    trigger: bool,
) -> tuple[Stored, changes.Change | None]:
    """In the caller's transaction: resolve the people of ``batch`` (one query), store its
    events (one statement) and stage the announcement of the people with new events (the
    caller publishes it after commit)."""
    people = await repo.find_people(
        conn,
        workspace_id,
        [e.key for _, e in batch if e.by == "id"],
        [e.key for _, e in batch if e.by == "user_id"],
        [e.key for _, e in batch if e.by == "email"],
    )
    rows, outcome = resolve(batch, people)
    if not rows:
        return outcome, None
    new = await repo.insert_events(
        conn,
        workspace_id,
        [c for c, _ in rows],
        [e.name for _, e in rows],
        [e.created_at for _, e in rows],
        [orjson.dumps(e.metadata).decode() for _, e in rows],
    )
    outcome.stored = len(new)
    outcome.duplicates = len(rows) - len(new)
    change = None
    if new and trigger:
        change = await changes.announce(conn, workspace_id, topic, contact_ids=sorted(set(new)))
        await changes.stage(conn, change)
    return outcome, change
