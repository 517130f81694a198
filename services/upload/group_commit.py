"""Group commit of single writes (``POST /api/users``): concurrent requests to one workspace
share a transaction, each still answered with its own contact.

Every write of people takes the workspace lock and commits (``shared.changes``), so one
request at a time per workspace, each its own transaction, bounds a workspace to one commit's
round trips per request: about 140 a second with 16 clients (issue 19). Here the first request
to arrive when the workspace is idle is applied at once, alone; the requests that arrive while
it commits wait in the workspace's queue and are applied together in the next transaction, in
the order they arrived — the state the identity rules give one by one, in one commit.

Validation is per request and happens in the batch, against the workspace's attribute types
as the earlier requests of the batch leave them (a new attribute's first value fixes its type
for the requests after it, as it would one by one). A request that fails validation, or whose
record the rules refuse, is answered with its own error and the others go on. If the batch's
transaction itself fails (a bug a record's data trips, a database error), its requests are
applied again one by one, each in its own transaction, so one bad request costs the others
nothing but the retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.upload import repository as repo
from services.upload.errors import ApiError, invalid
from services.upload.rules import MAX_ATTRIBUTES
from shared import changes, people_store
from shared.identity import Kind
from shared.logs import get_logger
from shared.records import contact_record

log = get_logger(__name__)

MAX_BATCH = 500  # requests in one transaction at most


@dataclass
class Written:
    """A request's answer: the contact as stored, and whether it was created."""

    contact: asyncpg.Record
    created: bool


@dataclass
class _Pending:
    body: Mapping[str, Any]
    kind: Kind
    done: asyncio.Future[Written] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """One per upload process: a queue and a writer task per busy workspace."""

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, topic: str) -> None:
        self.pool, self.producer, self.topic = pool, producer, topic
        self._queues: dict[str, list[_Pending]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def write(self, workspace_id: str, body: Mapping[str, Any], kind: Kind) -> Written:
        """Apply one JSON contact by the identity rules; raises ApiError (422 not valid,
        409 refused) for this request alone."""
        pending = _Pending(body, kind)
        self._queues.setdefault(workspace_id, []).append(pending)
        if workspace_id not in self._writers:
            self._writers[workspace_id] = asyncio.create_task(self._drain(workspace_id))
        # The writer goes on when this request's client leaves: the others of its batch wait.
        return await asyncio.shield(pending.done)

    async def _drain(self, workspace_id: str) -> None:
        queue = self._queues[workspace_id]
        try:
            while queue:
                try:
                    await self._batches(workspace_id, queue)
                except Exception as exc:  # no connection to be had: each on its own
                    batch = queue[:MAX_BATCH]
                    del queue[:MAX_BATCH]
                    await self._one_by_one(workspace_id, batch, exc)
        finally:  # (no await between the last look at the queue and here)
            del self._writers[workspace_id]
            self._queues.pop(workspace_id, None)

    async def _batches(self, workspace_id: str, queue: list[_Pending]) -> None:
        """Batches on one connection while requests keep coming (no pool round trip a batch);
        back to the caller for a fresh one after a batch failed, in case the connection broke."""
        async with self.pool.acquire() as conn:
            while queue:  # requests that came while the last batch committed
                batch = queue[:MAX_BATCH]
                del queue[:MAX_BATCH]
                try:
                    await self._apply(conn, workspace_id, batch)
                except Exception as exc:
                    await self._one_by_one(workspace_id, batch, exc)
                    return

    async def _one_by_one(self, workspace_id: str, batch: list[_Pending], exc: Exception) -> None:
        """The batch's transaction failed: each request again in a transaction of its own."""
        log.warning(
            "a group commit failed; its requests are applied one by one",
            extra={"error": repr(exc), "requests": len(batch)},
        )
        for pending in batch:
            try:
                async with self.pool.acquire() as conn:
                    await self._apply(conn, workspace_id, [pending])
            except Exception as one:
                if not isinstance(one, ApiError):
                    log.exception("a single write failed", exc_info=one)
                pending.done.set_exception(one)

    async def _apply(
        self, conn: asyncpg.Connection, workspace_id: str, batch: list[_Pending]
    ) -> None:
        """One transaction for ``batch``: validate each, write runs of one kind; once it has
        committed, answer each (nothing is answered from a transaction that rolled back)."""
        answers: list[tuple[_Pending, str | ApiError, bool]] = []
        published: list[changes.Change] = []
        async with conn.transaction():
            await changes.lock(conn, workspace_id)
            types = dict(await people_store.attribute_types(conn, workspace_id))
            accepted: list[tuple[_Pending, dict[str, Any], dict[str, str]]] = []
            for pending in batch:
                record, new, refusal = _validated(pending.body, types)
                if refusal is not None:
                    answers.append((pending, refusal, False))
                else:
                    accepted.append((pending, record, new))
            for run in _runs(accepted):
                new_attributes: dict[str, str] = {}
                for _, _, new in run:
                    new_attributes.update(new)
                written = await changes.write_records(
                    conn,
                    workspace_id,
                    [record for _, record, _ in run],
                    run[0][0].kind,
                    self.topic,
                    new_attributes=new_attributes,
                    locked=True,
                )
                if written.change is not None:
                    published.append(written.change)
                for (pending, _, _), outcome in zip(run, written.outcomes, strict=True):
                    if outcome is None or outcome.result == "failed" or outcome.contact is None:
                        reasons = list(outcome.errors) if outcome is not None else []
                        refused = ApiError(409, "conflict", "; ".join(reasons), reasons)
                        answers.append((pending, refused, False))
                    else:
                        created = outcome.result == "created"
                        answers.append((pending, outcome.contact.id, created))
            ids = [a for _, a, _ in answers if isinstance(a, str)]
            rows = await repo.contacts_by_id(conn, workspace_id, ids)  # before the commit
        for pending, answer, created in answers:
            if isinstance(answer, ApiError):
                pending.done.set_exception(answer)
            else:
                pending.done.set_result(Written(rows[answer], created))
        # After the answers, queued in order and not waited for (the next batch need not wait
        # for the broker; the messenger's sweep covers a failure).
        for change in published:
            await changes.publish(self.producer, change, wait=False)


def _runs(
    accepted: list[tuple[_Pending, dict[str, Any], dict[str, str]]],
) -> list[list[tuple[_Pending, dict[str, Any], dict[str, str]]]]:
    """Consecutive requests of one kind (users, leads), in order."""
    runs: list[list[tuple[_Pending, dict[str, Any], dict[str, str]]]] = []
    for item in accepted:
        if runs and runs[-1][0][0].kind == item[0].kind:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _validated(
    body: Mapping[str, Any], types: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str], ApiError | None]:
    """The request's engine record and new attributes (``types`` gains them), or its 422."""
    record, errors, new = contact_record(body, types)
    if record is None:
        return {}, {}, invalid(f"the contact is not valid: {'; '.join(errors)}", errors)
    if len(types) + len(new) > MAX_ATTRIBUTES:
        return {}, {}, invalid(f"a workspace has at most {MAX_ATTRIBUTES} custom attributes")
    types.update(new)
    return record, new, None
