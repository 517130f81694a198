"""The merger's pipelining: chunk *n + 1* is prepared while chunk *n* writes and commits.

A chunk's *tail* — its writes, its commit, the event queued after it (not waited for) — runs
in the background while the next chunk of the same workspace is prepared: its contacts read on
another connection and its records applied in memory. That read happens under chunk *n*'s
workspace lock, so it sees the state before chunk *n*; the people chunk *n* changed are carried
over (:class:`Carry`) in their state after it (those the next chunk's records can find, by
``Carry.index``). Chunk *n + 1*'s transaction then compares the workspace's ``people_version``
with the one chunk *n* committed: if anyone else wrote the workspace's people in between, the
preparation is thrown away and done again under the lock.

A chunk's message is acked only after its tail committed (shared.worker.InOrderAcks). A tail
that fails for the worker's own reasons (the database went away) stops the process — exit 70,
nothing acked, the chunks redelivered — and the first chunk after a start runs in the
foreground, where the worker frame's usual failure rules apply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.identity import Contact, Index, State
from shared.logs import get_logger
from shared.worker import Tail, fatal

log = get_logger(__name__)


@dataclass
class Carry:
    """What a chunk whose tail is still committing leaves for the next chunk of its workspace."""

    workspace_id: str
    preview: str | None  # the dry run the chunk belonged to (its people are that dry run's)
    run: int  # ... and its run (a dry run run again starts from the workspace as it is)
    changed: dict[str, Contact]  # its people as they will be committed
    index: Index  # the index it was applied in (finds them by user_id and email)
    created: Mapping[str, State]  # the people it created as states (in neither of those)
    tags: dict[str, str]  # folded tag name -> the workspace's spelling, after the chunk
    version: int  # the workspace's people_version once it committed


class Pipeline:
    """The tail in flight, what it carries over, and the connection and transaction it owns."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.inflight: asyncio.Task[None] | None = None
        self.carry: Carry | None = None
        self.background = False  # the first chunk after a start runs in the foreground
        self.spoilt = False  # a tail wrote otherwise than its carry says (record by record)

    def take_carry(self, workspace_id: str, preview: str | None, run: int) -> Carry | None:
        """The carry of the chunk before, if it was of this workspace and of the same run of the
        same dry run (or both real) — it is used once."""
        carry, self.carry = self.carry, None
        if carry is None or carry.workspace_id != workspace_id or carry.preview != preview:
            return None
        return carry if preview is None or carry.run == run else None

    def spoil(self) -> None:
        """The tail did not write what its carry says (it applied its chunk record by record):
        the next chunk, which may hold that carry already, must be prepared again."""
        self.spoilt = True
        self.carry = None

    async def drain(self) -> bool:
        """Wait for the tail in flight to commit; False when the carry it left is not valid."""
        if self.inflight is not None:
            inflight, self.inflight = self.inflight, None
            await inflight
        spoilt, self.spoilt = self.spoilt, False
        return not spoilt

    async def begin(self) -> tuple[asyncpg.Connection, Any]:
        """A connection and a started transaction, which the chunk's tail will end."""
        conn = await self.pool.acquire()
        tx = conn.transaction()
        try:
            await tx.start()
        except BaseException:
            await self.pool.release(conn)
            raise
        return conn, tx

    async def abandon(self, conn: asyncpg.Connection, tx: Any) -> None:
        """Roll back (when the connection still can) and give the connection back."""
        try:
            await tx.rollback()
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            pass
        finally:
            await self.pool.release(conn)

    async def commit(self, conn: asyncpg.Connection, tx: Any) -> None:
        """Commit and give the connection back; on failure roll back and re-raise."""
        try:
            await tx.commit()
        except BaseException:
            await self.abandon(conn, tx)
            raise
        await self.pool.release(conn)

    async def run(self, tail: Awaitable[None], carry: Carry, what: str) -> Tail | None:
        """Run a chunk's tail, leaving ``carry`` for the next chunk: in the foreground the
        first time after a start (None), else in the background (returned: the message is acked
        once it is done)."""
        self.carry = carry
        if not self.background:
            try:
                await tail
            except BaseException:
                self.carry = None
                raise
            self.background = True
            return None
        self.inflight = asyncio.create_task(self._guarded(tail, what))
        await asyncio.sleep(0)  # its first statement goes out now, before the next chunk's decode
        return self.inflight

    async def _guarded(self, tail: Awaitable[None], what: str) -> None:
        """A background tail: if it fails, the process stops without acking (redelivery)."""
        try:
            await tail
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.error("a chunk could not be committed", extra={"chunk": what, "error": repr(exc)})
            fatal(f"stopping: {what} failed to commit")
