"""The platform pieces against the real broker and database: topics, migrations, exactly-once
chunk application."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.merger.handler import MergerHandler
from shared import db, kafka
from shared.errors import PoisonMessage
from shared.events import ImportParsed, RowChunk
from shared.settings import Settings
from shared.topics import ALL_TOPICS
from tests.support.db import new_workspace


async def test_topics_are_created_once_with_one_partition_count(unique_settings: Settings) -> None:
    await kafka.ensure_topics(unique_settings)  # the fixture created them: a re-run is harmless
    admin = AIOKafkaAdminClient(bootstrap_servers=unique_settings.kafka_bootstrap)
    await admin.start()
    try:
        names = [t.name(unique_settings) for t in ALL_TOPICS]
        described = await admin.describe_topics(names)
        assert {d["topic"]: len(d["partitions"]) for d in described} == {n: 2 for n in names}
    finally:
        await admin.close()


async def test_migrations_are_numbered_and_idempotent(stack) -> None:
    assert await db.migrate(stack.dsn) == []
    conn = await db.connect(stack.dsn)
    try:
        versions = [
            r["version"]
            for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        ]
    finally:
        await conn.close()
    assert versions == [n for n, _ in db.migration_files()]


@pytest.fixture
async def import_row(pg_pool) -> tuple[str, str]:
    workspace_id, import_id = await new_workspace(pg_pool), f"imp_{uuid.uuid4().hex}"
    await pg_pool.execute(
        "INSERT INTO imports (id, workspace_id, source, status) VALUES ($1, $2, 'csv', 'queued')",
        import_id,
        workspace_id,
    )
    return workspace_id, import_id


async def test_a_redelivered_chunk_changes_nothing(unique_settings, pg_pool, import_row) -> None:
    workspace_id, import_id = import_row
    producer = kafka.make_producer(unique_settings)
    await producer.start()
    try:
        merger = MergerHandler(unique_settings, pg_pool, producer)

        def chunk(seq: int, rows: list[dict]) -> RowChunk:
            return RowChunk(
                import_id=import_id,
                workspace_id=workspace_id,
                seq=seq,
                kind="users",
                tag="t",
                rows=rows,
                errors=[{"row": 99, "errors": ["bad"], "cells": ["x"]}] if seq == 0 else [],
            )

        first = chunk(0, [{"_row": 1, "email": "a@x.io", "user_id": "a", "name": "A"}])
        await merger.apply_chunk(first)
        await merger.apply_chunk(first)  # redelivered: skipped
        with pytest.raises(PoisonMessage, match="arrived before chunk 1"):
            await merger.apply_chunk(chunk(2, [{"_row": 3, "email": "c@x.io"}]))
        await merger.apply_chunk(
            chunk(1, [{"_row": 2, "email": "a@x.io", "user_id": "a", "name": "B"}])
        )
        from shared.events import Envelope

        await merger(
            Envelope(
                event_id="e",
                type="import.parsed",
                occurred_at="2026-01-01T00:00:00Z",
                payload=ImportParsed(
                    import_id=import_id, workspace_id=workspace_id, chunks=2, rows=3
                ),
            )
        )
    finally:
        await producer.stop()
    row = await pg_pool.fetchrow(
        "SELECT status, created, updated, failed, rows_total FROM imports WHERE id = $1", import_id
    )
    assert dict(row) == {
        "status": "completed",
        "created": 1,
        "updated": 1,
        "failed": 1,
        "rows_total": 3,
    }
    people = await pg_pool.fetch(
        "SELECT user_id, name, tags FROM contacts WHERE workspace_id = $1", workspace_id
    )
    assert [tuple(p) for p in people] == [("a", "B", ["t"])]
