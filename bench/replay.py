"""The merger alone, on a real import's chunks: ``python -m bench.replay capture [--topic T]`` keeps
the chunks of a ``make bench`` import (read back from its Kafka topic) in
``bench/data/replay-chunks.pkl``; ``python -m bench.replay run [--profile] [--digest] [--rows
N]`` applies them through ``MergerHandler`` against a freshly seeded database, with nothing
else running, and prints the merger's wall and CPU seconds (``--profile``: cProfile's top
functions too; ``--digest``: a digest of the people it left, to compare two builds; ``--rows``:
the same records re-cut into chunks of N).

How issue 19's merger changes were measured before each ``make bench`` (docs/ARCHITECTURE.md,
Round 2). Events are not published (a producer that only queues); the database is real.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pickle
import pstats
import time
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench.run import DATA, _seed, bench_stack
from infra.stack import Stack
from services.merger.handler import MergerHandler
from shared import db, events
from shared.events import RowChunk
from shared.runtime import tune_gc
from shared.settings import Settings
from tests.support.db import fresh_database, new_message

CHUNKS = DATA / "replay-chunks.pkl"
AUDIENCE = {"field": "custom.plan", "op": "eq", "value": "enterprise"}  # make bench's message


class _Producer:
    """Takes the merger's events and drops them."""

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def capture(stack: Stack, topic: str | None) -> list[bytes]:
    settings = stack.settings()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith("bench-u-"))
    finally:
        await admin.close()
    candidates = [t for t in topics if t.endswith("row-chunks")]
    if topic is None:
        print("row-chunk topics of bench runs:", ", ".join(candidates))
        topic = candidates[-1]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    chunks: list[bytes] = []
    try:
        while batch := await consumer.getmany(timeout_ms=3000, max_records=1000):
            for messages in batch.values():
                for message in messages:
                    payload = events.decode(message.value).payload
                    if isinstance(payload, RowChunk) and not payload.dry_run:
                        chunks.append(message.value)
    finally:
        await consumer.stop()
    print(f"{len(chunks)} chunks of {topic}")
    return chunks


# What the import left, without what differs from run to run (ids, times but whether a contact
# changed after it was created): two builds that apply the rules alike leave the same digest.
PEOPLE_DIGEST = (
    "SELECT count(*) || ' ' || md5(string_agg(concat_ws('|', role, user_id, email, name, phone,"
    " signed_up_at, last_seen_at, last_seen_ip, tags::text, custom::text, version,"
    " created_at = updated_at), E'\\n' ORDER BY user_id, email, name, last_seen_at, custom::text))"
    " FROM contacts"
)


async def replay(stack: Stack, raw: list[bytes], profile: bool, digest: bool = False) -> None:
    first = events.decode(raw[0]).payload
    assert isinstance(first, RowChunk)
    dsn = await fresh_database(stack.postgres.dsn("postgres"), "replay")
    await _seed(dsn, first.workspace_id, with_workspace=True)
    pool = await db.create_pool(dsn, size=4)
    try:
        await new_message(pool, first.workspace_id, AUDIENCE)
        await pool.execute(
            "INSERT INTO imports (id, workspace_id, source, kind, status, tag, run)"
            " VALUES ($1, $2, 'csv', 'users', 'processing', 'bench', $3)",
            first.import_id,
            first.workspace_id,
            first.run,
        )
        await pool.execute("CHECKPOINT")
        handler = MergerHandler(Settings(), pool, _Producer())  # type: ignore[arg-type]
        tune_gc()  # as the merger's worker does (shared.worker)
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.monotonic()
        if profiler is not None:
            profiler.enable()
        rows = 0
        for value in raw:
            envelope = events.decode(value)
            assert isinstance(envelope.payload, RowChunk)
            rows += len(envelope.payload.rows) + len(envelope.payload.errors)
            await handler(envelope)
        await handler.drain()
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        counts = await pool.fetchrow(
            "SELECT created, updated, failed FROM imports WHERE id = $1", first.import_id
        )
        if digest:
            print("people digest:", await pool.fetchval(PEOPLE_DIGEST))
    finally:
        await pool.close()
    print(
        f"{len(raw)} chunks, {rows:,} rows: wall {wall:.2f} s, merger CPU {cpu:.2f} s"
        f" ({cpu / rows * 1e6:.1f} µs a row, decoding included); {dict(counts or {})}"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def rechunk(raw: list[bytes], rows: int) -> list[bytes]:
    """The same import's records in chunks of ``rows`` (each chunk's errors with its first
    piece): what another ``USHER_CHUNK_ROWS`` would have sent."""
    out: list[bytes] = []
    seq = 0
    for value in raw:
        chunk = events.decode(value).payload
        assert isinstance(chunk, RowChunk)
        for start in range(0, max(len(chunk.rows), 1), rows):
            errors = chunk.errors if start == 0 else []
            piece = chunk.model_copy(
                update={"seq": seq, "rows": chunk.rows[start : start + rows], "errors": errors}
            )
            out.append(events.encode(piece, correlation_id=chunk.import_id))
            seq += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replay")
    parser.add_argument("command", choices=["capture", "run"])
    parser.add_argument("--profile", action="store_true", help="cProfile the replay")
    parser.add_argument("--digest", action="store_true", help="run: print the people's digest")
    parser.add_argument("--rows", type=int, help="run: re-cut the chunks to this many rows")
    parser.add_argument("--topic", help="capture: the row-chunks topic (default: one listed)")
    args = parser.parse_args()
    stack = bench_stack()
    stack.start_infra()
    try:
        if args.command == "capture":
            CHUNKS.write_bytes(pickle.dumps(asyncio.run(capture(stack, args.topic))))
            print(f"kept in {CHUNKS}")
        else:
            raw = pickle.loads(CHUNKS.read_bytes())
            if args.rows:
                raw = rechunk(raw, args.rows)
            asyncio.run(replay(stack, raw, args.profile, args.digest))
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
