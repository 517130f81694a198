"""Email and webhook sends, made beside the consumers: claimed, fair between workspaces, once.

The consumers (contacts changed, message activated) only write delivery rows — ``pending`` for
email and webhook — and then :meth:`Sender.wake` the sender for that workspace, so a change is
never held up by a slow receiver. The sender claims the workspace's oldest pending sends (a lease
of ``send_deadline_s`` + 30 s, ``FOR UPDATE SKIP LOCKED``; repository.claim), keeps at most
``sends_per_workspace`` of them in flight and ``sends_in_flight`` for all workspaces together,
and records each outcome. Hence:

* one workspace's slow receiver holds its own workspace's sends only;
* a send in flight is never made a second time, by this process or another messenger: its row
  stays claimed until its outcome is written, and a claim runs out only when its sender died
  (each send is cut off at ``send_deadline_s``, well inside its lease);
* pausing or archiving a message stops its sends not made yet (a claim takes live messages
  only, and the state is read again just before each send); an edited message's sends go out
  with its new subject and body, recorded as of its new version;
* a retry of failed deliveries (``POST /api/messages/{id}/retry``) makes them pending again:
  they are claimed like any other, with the same idempotency key;
* what a crash leaves pending is found by :meth:`Sender.sweep` (every 5 s), once the claims run
  out, and sent with the same idempotency key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg
import httpx
from tenacity import RetryCallState, retry_if_exception_type

from services.messenger import repository as repo
from shared import channels, retry
from shared.logs import get_logger
from shared.settings import Settings
from shared.templates import render
from shared.worker import TRANSIENT_ERRORS

log = get_logger(__name__)
LEASE_MARGIN_S = 30.0


class Sender:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.pool = pool
        self.http = http
        self.lease_s = settings.send_deadline_s + LEASE_MARGIN_S
        self.in_flight = asyncio.Semaphore(settings.sends_in_flight)
        self.draining: dict[str, asyncio.Task[None]] = {}
        self.woken: set[str] = set()  # workspaces that got new sends while being drained
        self.recording: set[str] = set()  # sends made whose outcome waits for the database
        self.sleep: retry.Sleep = asyncio.sleep  # the back-off's clock (tests inject theirs)

    def wake(self, workspace_id: str) -> None:
        """The workspace has sends to make: start draining it (or go on once more)."""
        if workspace_id in self.draining:
            self.woken.add(workspace_id)
            return
        task = asyncio.create_task(self._drain(workspace_id))
        self.draining[workspace_id] = task
        task.add_done_callback(lambda t: self._drained(workspace_id, t))

    def _drained(self, workspace_id: str, task: asyncio.Task[None]) -> None:
        self.draining.pop(workspace_id, None)
        if not task.cancelled() and task.exception() is not None:
            # Only the database can fail here (claims); the sweeper wakes the workspace again.
            log.warning(
                "sending paused for a workspace",
                extra={"workspace_id": workspace_id, "error": repr(task.exception())},
            )
            return
        if workspace_id in self.woken:
            self.woken.discard(workspace_id)
            self.wake(workspace_id)

    async def sweep(self) -> None:
        """Wake every workspace with a send nobody is making (new, or left by a crash)."""
        async with self.pool.acquire() as conn:
            workspaces = await repo.sendable_workspaces(conn)
        for workspace_id in workspaces:
            self.wake(workspace_id)

    async def _drain(self, workspace_id: str) -> None:
        """Make the workspace's pending sends, ``sends_per_workspace`` at a time, until none is
        left: a slot that frees is filled from the next claim."""
        limit = self.settings.sends_per_workspace
        running: set[asyncio.Task[None]] = set()
        more = True
        while True:
            self.woken.discard(workspace_id)
            if more and len(running) < limit:
                async with self.pool.acquire() as conn:
                    rows = await repo.claim(conn, workspace_id, limit - len(running), self.lease_s)
                more = len(rows) == limit - len(running)
                running.update(
                    asyncio.create_task(self.send(row))
                    for row in rows
                    if f"{row['message_id']}:{row['contact_id']}" not in self.recording
                )
            if not running:
                return
            _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            more = more or workspace_id in self.woken

    async def send(self, row: Mapping[str, Any]) -> None:
        """Make one claimed send and record its outcome; never raises (a database fault leaves
        the row claimed: its claim runs out and the sweeper sends it again)."""
        try:
            async with self.in_flight:
                async with self.pool.acquire() as conn:
                    if not await repo.still_sendable(conn, row["message_id"]):
                        await repo.release(conn, row["message_id"], row["contact_id"])
                        return
                out = self.outgoing(row)
                result = await self._attempt(row, out)
        except TRANSIENT_ERRORS as exc:  # before the send: its claim runs out, it is sent later
            log.warning("a send could not start; it is retried", extra={"error": repr(exc)})
            return
        await self._record(row, out, result)

    async def _record(
        self, row: Mapping[str, Any], out: channels.Outgoing, result: channels.Result
    ) -> None:
        """Write a send's outcome, trying again for as long as the database is away: the send
        was made, and letting its claim lapse would make it a second time. Meanwhile this
        process does not send the row again should it claim it back (:attr:`recording`); only
        another messenger process could, once the claim ran out (the same idempotency key)."""
        self.recording.add(out.key)
        retrying = retry.RECORD.retrying(
            retry_if_exception_type(TRANSIENT_ERRORS), sleep=self.sleep, before_sleep=_not_yet
        )
        try:
            await retrying(self._finish, row, out, result)
        finally:
            self.recording.discard(out.key)

    async def _finish(
        self, row: Mapping[str, Any], out: channels.Outgoing, result: channels.Result
    ) -> None:
        async with self.pool.acquire() as conn:
            await repo.finish_delivery(
                conn,
                out.message_id,
                out.contact_id,
                result.status,
                result.reason,
                row["attempts"] + result.attempts,
                out.subject,
                out.body,
                row["message_version_now"],
            )

    async def _attempt(self, row: Mapping[str, Any], out: channels.Outgoing) -> channels.Result:
        """The send itself, bounded in time; any failure becomes a failed result."""
        deadline = self.settings.send_deadline_s
        try:
            async with asyncio.timeout(deadline):
                if row["channel"] == "email":
                    return await channels.send_email(self.settings, out, sleep=self.sleep)
                contact = {"id": row["contact_id"], "email": row["email"]}
                return await channels.send_webhook(
                    self.http, self.settings, out, contact, sleep=self.sleep
                )
        except TimeoutError:
            return channels.Result("failed", f"the send took longer than {deadline:g} s", 1)
        except Exception:
            log.exception("a send failed unexpectedly", extra={"message_id": row["message_id"]})
            return channels.Result("failed", "the send failed on our side; the error was logged", 1)

    @staticmethod
    def outgoing(row: Mapping[str, Any]) -> channels.Outgoing:
        """What to send. The row holds the text of its version, rendered for the state the
        person matched in; a message edited since (a newer version) is rendered again, with
        its new content — the version recorded with the outcome is then the new one."""
        subject, body = row["subject"] or "", row["body"] or ""
        if row["message_version"] < row["message_version_now"]:
            person = {"name": row["name"], "email": row["email"], "custom": row["custom"]}
            subject = render(row["message_subject"], person)
            body = render(row["message_body"], person)
        return channels.Outgoing(
            message_id=row["message_id"],
            contact_id=row["contact_id"],
            workspace_id=row["workspace_id"],
            email=row["email"],
            subject=subject,
            body=body,
            webhook_url=row["webhook_url"],
            webhook_secret=row["webhook_secret"],
        )


def _not_yet(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.warning("a send's outcome is not recorded yet", extra={"error": repr(error)})
