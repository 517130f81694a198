"""Audiences judged by the writer (shared.audiences) and the messenger's use of the verdict,
against the real database."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from services.messenger.handler import MessengerHandler
from shared import audiences, people_store
from shared.events import ContactsChanged
from shared.identity import Engine, Index
from shared.ids import new_id
from tests.support.db import new_message, new_workspace


async def _workspace(pool) -> str:
    workspace_id = await new_workspace(pool)
    await pool.execute(
        "INSERT INTO attributes (workspace_id, name, type) VALUES ($1, 'plan', 'string')",
        workspace_id,
    )
    return workspace_id


ENTERPRISE = {"field": "custom.plan", "op": "eq", "value": "enterprise"}


async def test_the_verdict_holds_first_matching_states_and_skips_broken_audiences(
    pg_pool,
) -> None:
    workspace_id = await _workspace(pg_pool)
    enterprise = await new_message(pg_pool, workspace_id, ENTERPRISE)
    broken = await new_message(pg_pool, workspace_id, {"field": "custom.plan", "op": "wat"})
    signed_up = await new_message(pg_pool, workspace_id, {"field": "event:signup", "op": "exists"})
    await new_message(pg_pool, workspace_id, ENTERPRISE, state="paused")
    now = datetime.now(UTC)
    engine = Engine(Index(), now=now, new_id=lambda: new_id("c_"))
    # a: enterprise, then basic in the same transaction (matched in between); b: never.
    for record in (
        {"user_id": "a", "name": "A", "custom": {"plan": "enterprise"}},
        {"user_id": "b", "name": "B", "custom": {"plan": "basic"}},
        {"user_id": "a", "name": "A2", "custom": {"plan": "basic"}},
    ):
        engine.apply(record, "users")
    async with pg_pool.acquire() as conn, conn.transaction():
        verdict = await audiences.judge(conn, workspace_id, engine, now)
    assert set(verdict.evaluated) == {enterprise, signed_up}  # the broken one is left out
    assert broken not in verdict.matched
    a = engine.index.by_user_id["a"].id
    assert list(verdict.matched[enterprise]) == [a]
    assert verdict.matched[enterprise][a]["name"] == "A"  # the state it matched in
    assert verdict.matched[signed_up] == {}  # new people have no events


async def test_the_messenger_uses_a_verdict_only_for_the_version_it_was_made_for(
    pg_pool, unique_settings
) -> None:
    workspace_id = await _workspace(pg_pool)
    message_id = await new_message(pg_pool, workspace_id, ENTERPRISE)
    now = datetime.now(UTC)
    engine = Engine(Index(), now=now, new_id=lambda: new_id("c_"))
    engine.apply({"user_id": "a", "name": "A", "custom": {"plan": "enterprise"}}, "users")
    engine.apply({"user_id": "b", "name": "B", "custom": {"plan": "basic"}}, "users")
    async with pg_pool.acquire() as conn, conn.transaction():
        await people_store.write_contacts(conn, workspace_id, engine.changed.values())
        verdict = await audiences.judge(conn, workspace_id, engine, now)
    a, b = (engine.index.by_user_id[u].id for u in ("a", "b"))
    # The message's audience changes after the verdict: the messenger must judge on the
    # database (b matches the new audience), not trust the stale verdict (a).
    await pg_pool.execute(
        "UPDATE messages SET audience = $2, updated_at = now() + interval '1 second' WHERE id = $1",
        message_id,
        {"field": "custom.plan", "op": "eq", "value": "basic"},
    )
    change = orjson.loads(
        ContactsChanged(
            workspace_id=workspace_id,
            contact_ids=list(engine.changed),
            committed_at=now,
            evaluated=verdict.evaluated,
            matched=verdict.matched,
        ).model_dump_json()
    )
    messenger = MessengerHandler(unique_settings, pg_pool)
    await messenger.on_change(ContactsChanged.model_validate(change))
    rows = await pg_pool.fetch(
        "SELECT contact_id, subject, body FROM deliveries WHERE message_id = $1", message_id
    )
    assert [(r["contact_id"], r["subject"], r["body"]) for r in rows] == [(b, "Hi B", "Plan basic")]

    # With the verdict current, it is used as it is: a gets the message, filled from its state.
    message = await pg_pool.fetchrow("SELECT updated_at FROM messages WHERE id = $1", message_id)
    await pg_pool.execute("UPDATE messages SET audience = $2 WHERE id = $1", message_id, ENTERPRISE)
    change["evaluated"] = {message_id: audiences.fingerprint(message["updated_at"])}
    await messenger.on_change(ContactsChanged.model_validate(change))
    rows = await pg_pool.fetch(
        "SELECT contact_id, subject FROM deliveries WHERE message_id = $1 ORDER BY subject",
        message_id,
    )
    assert [(r["contact_id"], r["subject"]) for r in rows] == [(a, "Hi A"), (b, "Hi B")]


async def test_an_early_verdict_is_used_only_while_what_it_was_judged_on_holds(pg_pool) -> None:
    """The merger judges a chunk's audiences beside the chunk still committing
    (judge_early); under the lock, judge uses that verdict only for the same engine, the same
    messages, attribute types and segments, and no audience counting events."""
    workspace_id = await _workspace(pg_pool)
    message_id = await new_message(pg_pool, workspace_id, ENTERPRISE)
    now = datetime.now(UTC)
    engine = Engine(Index(), now=now, new_id=lambda: new_id("c_"))
    engine.apply({"user_id": "a", "custom": {"plan": "enterprise"}}, "users")
    engine.apply({"user_id": "b", "custom": {"plan": "basic"}}, "users")
    a, b = (engine.index.by_user_id[u].id for u in ("a", "b"))
    async with pg_pool.acquire() as conn:
        early = await audiences.judge_early(conn, workspace_id, engine, now)
        assert list(early.verdict.matched[message_id]) == [a]
        # Nothing changed: the early verdict itself.
        assert (
            await audiences.judge(conn, workspace_id, engine, now, earlier=early) is early.verdict
        )
        # Another engine (a chunk prepared again): judged again.
        other = Engine(Index(), now=now, new_id=lambda: new_id("c_"))
        other.apply({"user_id": "c", "custom": {"plan": "basic"}}, "users")
        again = await audiences.judge(conn, workspace_id, other, now, earlier=early)
        assert again.matched[message_id] == {}
        # The message changed meanwhile: judged on the message as it is now.
        await conn.execute(
            "UPDATE messages SET audience = $2 WHERE id = $1",
            message_id,
            {"field": "custom.plan", "op": "eq", "value": "basic"},
        )
        changed = await audiences.judge(conn, workspace_id, engine, now, earlier=early)
        assert list(changed.matched[message_id]) == [b]
        # A new attribute (the types an audience compiles against): judged again.
        early = await audiences.judge_early(conn, workspace_id, engine, now)
        await conn.execute(
            "INSERT INTO attributes (workspace_id, name, type) VALUES ($1, 'seats', 'integer')",
            workspace_id,
        )
        assert await audiences.judge(conn, workspace_id, engine, now, earlier=early) is not (
            early.verdict
        )
        # An audience that counts events: always judged again (events may have come meanwhile).
        await new_message(pg_pool, workspace_id, {"field": "event:signup", "op": "exists"})
        early = await audiences.judge_early(conn, workspace_id, engine, now)
        assert early.uses_events
        assert await audiences.judge(conn, workspace_id, engine, now, earlier=early) is not (
            early.verdict
        )
