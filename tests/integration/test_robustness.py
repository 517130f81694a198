"""Against the real database: a send is made once however many senders race for it, pausing
stops sends, a chunk the database refuses costs only its bad records, queries are bounded."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from services.merger.handler import MergerHandler
from services.messenger import sending
from shared import channels, db, kafka
from shared.events import RowChunk
from shared.ids import new_id
from shared.settings import Settings
from tests.support.db import new_message, new_workspace


async def _pending(pool, workspace_id: str, n: int, channel: str = "webhook") -> str:
    hook = "http://127.0.0.2:9/hook"
    audience = {"and": []}
    message_id = await new_message(
        pool, workspace_id, audience, channel=channel, subject="s", body="b", webhook_url=hook
    )
    for i in range(n):
        contact_id = new_id("c_")
        await pool.execute(
            "INSERT INTO contacts (id, workspace_id, role, email, created_at, updated_at)"
            " VALUES ($1, $2, 'user', $3, now(), now())",
            contact_id,
            workspace_id,
            f"p{i}@x.io",
        )
        await pool.execute(
            "INSERT INTO deliveries (message_id, contact_id, workspace_id, status, subject, body)"
            " VALUES ($1, $2, $3, 'pending', 's', 'b')",
            message_id,
            contact_id,
            workspace_id,
        )
    return message_id


async def _drained(*senders: sending.Sender) -> None:
    """Until every sender has finished the workspaces it was draining."""
    while tasks := [t for s in senders for t in s.draining.values()]:
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def slow_receiver(monkeypatch) -> dict[str, int]:
    """Stands in for the webhook channel: each send takes 0.3 s; counts sends per delivery."""
    sent: dict[str, int] = {}

    async def send(
        client: Any, settings: Any, out: channels.Outgoing, contact: Any, **_: Any
    ) -> Any:
        sent[out.key] = sent.get(out.key, 0) + 1
        await asyncio.sleep(0.3)
        return channels.Result("delivered", None, 1)

    monkeypatch.setattr(channels, "send_webhook", send)
    return sent


async def test_racing_senders_make_each_send_once(own_pool, slow_receiver) -> None:
    """Two messengers (or the change consumer and the sweeper) drain the same workspace at
    once while a slow receiver answers: every delivery is sent exactly once (probe H5)."""
    workspace_id = await new_workspace(own_pool)
    message_id = await _pending(own_pool, workspace_id, 12)
    settings = Settings(sends_per_workspace=3)
    senders = [sending.Sender(settings, own_pool, None) for _ in range(2)]  # type: ignore[arg-type]
    for sender in senders:
        sender.wake(workspace_id)
        await sender.sweep()  # the sweeper wakes it again: it joins, not restarts
    await _drained(*senders)
    assert len(slow_receiver) == 12 and set(slow_receiver.values()) == {1}
    rows = await own_pool.fetch(
        "SELECT status, attempts, claimed_until FROM deliveries WHERE message_id = $1", message_id
    )
    assert {(r["status"], r["attempts"], r["claimed_until"]) for r in rows} == {
        ("delivered", 1, None)
    }


async def test_a_claim_holds_until_it_runs_out(own_pool, slow_receiver) -> None:
    """A claimed send belongs to its sender until the claim's lease ends (its sender died)."""
    from services.messenger import repository as repo

    workspace_id = await new_workspace(own_pool)
    await _pending(own_pool, workspace_id, 2)
    async with own_pool.acquire() as conn:
        first = await repo.claim(conn, workspace_id, 10, 3600)
        assert len(first) == 2
        assert await repo.claim(conn, workspace_id, 10, 3600) == []  # held
        assert workspace_id not in await repo.sendable_workspaces(conn)
        await conn.execute(
            "UPDATE deliveries SET claimed_until = now() - interval '1 second'"
            " WHERE workspace_id = $1",
            workspace_id,
        )
        assert workspace_id in await repo.sendable_workspaces(conn)
        assert len(await repo.claim(conn, workspace_id, 10, 3600)) == 2  # ran out: taken again


async def test_pausing_a_message_stops_the_sends_not_made(own_pool, slow_receiver) -> None:
    """Paused mid-blast: nothing more goes out; going live again sends the rest (probe M7)."""
    workspace_id = await new_workspace(own_pool)
    message_id = await _pending(own_pool, workspace_id, 20)
    sender = sending.Sender(Settings(sends_per_workspace=2), own_pool, None)  # type: ignore[arg-type]
    sender.wake(workspace_id)
    await asyncio.sleep(0.5)  # about 2 rounds of 2 sends
    await own_pool.execute("UPDATE messages SET state = 'paused' WHERE id = $1", message_id)
    await _drained(sender)
    made = len(slow_receiver)
    assert 2 <= made <= 6, made
    pending = await own_pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE message_id = $1 AND status = 'pending'", message_id
    )
    assert pending == 20 - made
    await own_pool.execute("UPDATE messages SET state = 'live' WHERE id = $1", message_id)
    await sender.sweep()
    await _drained(sender)
    assert len(slow_receiver) == 20 and set(slow_receiver.values()) == {1}


async def test_a_chunk_the_database_refuses_costs_only_its_bad_records(
    unique_settings, pg_pool
) -> None:
    """A value that got past validation (here a NUL, which PostgreSQL text cannot hold) makes
    the chunk's write fail: the merger applies it again record by record, and only that record
    fails, with the database's reason (probe C1: the import failed, its rest never applied)."""
    workspace_id, import_id = await new_workspace(pg_pool), f"imp_{uuid.uuid4().hex}"
    await pg_pool.execute(
        "INSERT INTO imports (id, workspace_id, source, status) VALUES ($1, $2, 'api', 'queued')",
        import_id,
        workspace_id,
    )
    producer = kafka.make_producer(unique_settings)
    await producer.start()
    try:
        merger = MergerHandler(unique_settings, pg_pool, producer)
        rows = [{"_row": i, "email": f"r{i}@x.io", "name": f"R{i}"} for i in range(1, 6)]
        rows[2]["name"] = "bad\x00name"
        for seq, chunk_rows in enumerate((rows, [{"_row": 6, "email": "r6@x.io"}])):
            chunk = RowChunk(
                import_id=import_id,
                workspace_id=workspace_id,
                seq=seq,
                kind="users",
                tag="t",
                rows=chunk_rows,
            )
            tail = await merger.apply_chunk(chunk)
            if tail is not None:
                await tail
    finally:
        await producer.stop()
    counts = await pg_pool.fetchrow(
        "SELECT created, updated, failed FROM imports WHERE id = $1", import_id
    )
    assert dict(counts) == {"created": 5, "updated": 0, "failed": 1}
    names = await pg_pool.fetch(
        "SELECT email FROM contacts WHERE workspace_id = $1 ORDER BY email", workspace_id
    )
    assert [r["email"] for r in names] == ["r1@x.io", "r2@x.io", "r4@x.io", "r5@x.io", "r6@x.io"]
    error = await pg_pool.fetchrow(
        "SELECT row_no, errors FROM import_errors WHERE import_id = $1", import_id
    )
    assert error["row_no"] == 3 and "the database refused this record" in error["errors"][0]


async def test_pools_bound_every_statement(stack) -> None:
    pool = await db.create_pool(stack.dsn, 1, statement_timeout_s=0.2)
    try:
        assert await pool.fetchval("SHOW statement_timeout") == "200ms"
        with pytest.raises(Exception, match="statement timeout"):
            await pool.execute("SELECT pg_sleep(2)")
    finally:
        await pool.close()


async def test_a_long_in_list_is_hashed_once(pg_pool) -> None:
    """``in`` compiles to a subquery PostgreSQL hashes: one probe per person (probe H4)."""
    from datetime import UTC, datetime

    from shared.filters import FilterContext, to_sql

    ctx = FilterContext(attribute_types={"n": "integer"}, segments={}, now=datetime.now(UTC))
    for filter_ in (
        {"field": "email", "op": "in", "value": [f"p{i}@x.io" for i in range(1000)]},
        {"field": "custom.n", "op": "in", "value": list(range(1000))},
    ):
        sql, params = to_sql(filter_, ctx, alias="c", first_param=2)
        plan = await pg_pool.fetch(
            f"EXPLAIN SELECT count(*) FROM contacts c WHERE c.workspace_id = $1 AND ({sql})",
            "ws_x",
            *params,
        )
        text = "\n".join(r[0] for r in plan)
        assert "hashed SubPlan" in text, text


async def test_two_writes_in_one_transaction_each_write_their_own_rows(own_pool) -> None:
    """A transaction that writes the same contact twice (records one by one in savepoints, an
    API request of several runs) ends with the second write: the stage of changed contacts
    holds one write's rows at a time."""
    from shared import changes

    workspace_id = await new_workspace(own_pool)
    async with own_pool.acquire() as conn, conn.transaction():
        for name in ("First", "Second", "Third"):
            await changes.write_records(
                conn,
                workspace_id,
                [{"email": "twice@x.io", "name": name}],
                "users",
                "usher.contact-changes",
                trigger_messages=False,
            )
    rows = await own_pool.fetch("SELECT name FROM contacts WHERE workspace_id = $1", workspace_id)
    assert [r["name"] for r in rows] == ["Third"]
