"""Group commit of single writes (services/upload/group_commit.py) on the real database:
requests that arrive together share one transaction and each gets its own answer; the result
is the state the identity rules give one by one; a bad request costs the others nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from services.upload.errors import ApiError
from services.upload.group_commit import GroupCommit
from shared import changes
from tests.support.db import new_workspace


class Producer:
    """Records what would be published (the messenger is not part of this test)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        """Queued (what group commit does: it does not wait for the broker)."""
        self.sent.append((topic, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _write_all(
    writes: GroupCommit, workspace_id: str, bodies: list[dict[str, Any]]
) -> list[Any]:
    return await asyncio.gather(
        *(writes.write(workspace_id, b, "users") for b in bodies), return_exceptions=True
    )


async def test_concurrent_writes_share_transactions_and_keep_their_answers(
    own_pool, monkeypatch
) -> None:
    workspace_id = await new_workspace(own_pool)
    transactions = 0
    original = changes.write_records

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal transactions
        transactions += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(changes, "write_records", counted)
    writes = GroupCommit(own_pool, Producer(), "usher.contact-changes")  # type: ignore[arg-type]
    bodies = [{"email": f"p{i}@x.io", "custom_attributes": {"seats": i}} for i in range(40)]
    bodies[7] = {"email": "not-an-email"}  # a 422 of its own
    bodies[9] = {"email": "p3@x.io", "name": "Again"}  # the same person as request 3
    bodies[11] = {"email": "p11@x.io", "custom_attributes": {"seats": "many"}}  # a new type's value
    answers = await _write_all(writes, workspace_id, bodies)

    assert isinstance(answers[7], ApiError) and answers[7].status == 422
    assert "not an email" in answers[7].message or "email" in answers[7].message
    # seats became an integer with the first request that had it: "many" does not fit.
    assert isinstance(answers[11], ApiError) and answers[11].status == 422
    assert "seats" in answers[11].message
    ok = [a for i, a in enumerate(answers) if i not in (7, 11)]
    assert all(not isinstance(a, Exception) for a in ok), ok
    assert answers[3].created and not answers[9].created
    assert answers[9].contact["id"] == answers[3].contact["id"]
    assert answers[9].contact["name"] == "Again"  # applied after request 3, in arrival order
    assert answers[0].contact["email"] == "p0@x.io" and answers[0].contact["custom"] == {"seats": 0}
    assert transactions < len(bodies) // 2  # they shared transactions (the first ran alone)
    count = await own_pool.fetchval(
        "SELECT count(*) FROM contacts WHERE workspace_id = $1", workspace_id
    )
    assert count == 37  # 40 requests, two refused, one an update


async def test_a_batch_that_fails_is_applied_one_by_one(own_pool, monkeypatch) -> None:
    workspace_id = await new_workspace(own_pool)
    original = changes.write_records

    async def fails_together(conn: Any, ws: str, records: list[Any], *args: Any, **kw: Any) -> Any:
        if any(r.get("name") == "boom" for r in records):
            raise RuntimeError("a record trips a bug")
        return await original(conn, ws, records, *args, **kw)

    monkeypatch.setattr(changes, "write_records", fails_together)
    writes = GroupCommit(own_pool, Producer(), "usher.contact-changes")  # type: ignore[arg-type]
    bodies = [{"email": f"q{i}@x.io", "name": "boom" if i == 5 else f"Q{i}"} for i in range(12)]
    answers = await _write_all(writes, workspace_id, bodies)
    assert isinstance(answers[5], RuntimeError)
    assert all(not isinstance(a, Exception) for i, a in enumerate(answers) if i != 5), answers
    names = await own_pool.fetch(
        "SELECT name FROM contacts WHERE workspace_id = $1 ORDER BY email", workspace_id
    )
    assert sorted(r["name"] for r in names) == sorted(f"Q{i}" for i in range(12) if i != 5)


async def test_a_lone_write_is_applied_at_once(own_pool) -> None:
    workspace_id = await new_workspace(own_pool)
    writes = GroupCommit(own_pool, Producer(), "usher.contact-changes")  # type: ignore[arg-type]
    written = await writes.write(workspace_id, {"email": "lone@x.io"}, "users")
    assert written.created and written.contact["email"] == "lone@x.io"
    # Answered before its connection goes back to the pool; then nothing is left behind.
    await asyncio.gather(*writes._writers.values())
    assert writes._writers == {} and writes._queues == {}
