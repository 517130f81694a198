"""Messenger: changes and activations in, each live message delivered once per person.

For a contacts-changed event: for each live auto message of the workspace, the people the
writer of the change found matching (its verdict, made on the states it committed; see
shared.audiences) get a delivery; a message the verdict does not cover, or that changed since,
is judged on the database instead (its audience compiled to SQL). For a message that went live:
everyone who matches now, over the whole workspace, in pages of ids.

At most once per (message, person): the delivery row's primary key. An in-app delivery *is* its
row, written as ``delivered``. Email and webhook rows are written ``pending`` and committed; the
sends are made beside the consumers, claimed one by one (services.messenger.sending), so a slow
receiver never holds up a change. The contacts-changed event's outbox row is deleted in the same
transaction, and rows left behind (an event lost before it was processed) are processed by the
sweeper.

Each live message is judged on its own: an audience that cannot be evaluated (invalid since it
was saved, or too slow for the statement timeout) skips that message, logged, and the others
are still delivered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.messenger import repository as repo
from services.messenger.sending import Sender
from shared import audiences, fields, outbound
from shared.errors import InvalidFilter, PoisonMessage, UndecodableMessage
from shared.events import ContactsChanged, Envelope, MessageActivated, decode
from shared.filters import FilterContext
from shared.logs import get_logger
from shared.settings import Settings
from shared.templates import render

log = get_logger(__name__)
PAGE = 5000
_DATE_FIELDS = fields.DATES
UNJUDGEABLE = (InvalidFilter, asyncpg.QueryCanceledError)


class MessengerHandler:
    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer | None = None
    ) -> None:
        self.settings = settings
        self.pool = pool
        http = outbound.client(outbound.Policy.from_settings(settings))
        self.sender = Sender(settings, pool, http)

    async def __call__(self, envelope: Envelope) -> None:
        payload = envelope.payload
        if isinstance(payload, ContactsChanged):
            await self.on_change(payload)
        elif isinstance(payload, MessageActivated):
            await self.on_activation(payload)
        else:
            raise PoisonMessage(f"the messenger does not handle {envelope.type}")

    async def on_change(self, change: ContactsChanged) -> None:
        sends = False
        async with self.pool.acquire() as conn, conn.transaction():
            messages = await repo.live_messages(conn, change.workspace_id, "auto")
            ctx: FilterContext | None = None
            for message in messages:
                if message["id"] in change.suppressed:
                    continue  # the import's message policy (SPEC §6.2)
                judged = change.evaluated.get(message["id"])
                if judged == audiences.fingerprint(message["updated_at"]):
                    matched = change.matched.get(message["id"], {})
                    new = await self._deliver_matched(conn, message, matched, change)
                else:  # live or changed after the writer judged: judge on the database now
                    if ctx is None:
                        ctx = await audiences.filter_context(
                            conn, change.workspace_id, datetime.now(UTC)
                        )
                    new = await self._deliver_page(
                        conn,
                        message,
                        ctx,
                        change.contact_ids,
                        change.import_id,
                        change.committed_at,
                    )
                sends = sends or bool(new and message["channel"] != "in_app")
            if change.outbox_id is not None:
                await repo.delete_outbox(conn, change.outbox_id)
        if sends:
            self.sender.wake(change.workspace_id)

    async def on_activation(self, activation: MessageActivated) -> None:
        """Deliver a message that went live to everyone who matches now, a page at a time."""
        after = ""
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                message = await repo.message(conn, activation.message_id)
                if message is None or message["state"] != "live":
                    return
                ctx = await audiences.filter_context(
                    conn, message["workspace_id"], datetime.now(UTC)
                )
                try:
                    people = await repo.matching_undelivered(conn, message, ctx, None, after, PAGE)
                except UNJUDGEABLE as exc:
                    raise PoisonMessage(
                        f"message {message['id']}: its audience cannot be evaluated: {_why(exc)}"
                    ) from None
                new = await self._insert(conn, message, people, None, None)
            if new and message["channel"] != "in_app":
                self.sender.wake(message["workspace_id"])
            if len(people) < PAGE:
                return
            after = people[-1]["id"]

    async def _deliver_page(
        self,
        conn: asyncpg.Connection,
        message: asyncpg.Record,
        ctx: FilterContext,
        contact_ids: Sequence[str],
        import_id: str | None,
        changed_at: datetime | None,
    ) -> list[str]:
        try:
            async with conn.transaction():  # a savepoint: a cancelled query spoils nothing else
                people = await repo.matching_undelivered(
                    conn, message, ctx, contact_ids, "", len(contact_ids)
                )
        except UNJUDGEABLE as exc:
            log.warning(
                "skipping a message whose audience cannot be evaluated",
                extra={"message_id": message["id"], "error": _why(exc)},
            )
            return []
        return await self._insert(conn, message, people, import_id, changed_at)

    async def _deliver_matched(
        self,
        conn: asyncpg.Connection,
        message: asyncpg.Record,
        matched: dict[str, dict[str, Any]],
        change: ContactsChanged,
    ) -> list[str]:
        """Deliver to the people the writer found matching (the change's verdict), filling the
        message from the state each first matched in."""
        if not matched:
            return []
        # Those who have it already are skipped by the insert (the primary key).
        people = [_state(matched[cid]) for cid in sorted(matched)]
        return await self._insert(conn, message, people, change.import_id, change.committed_at)

    async def _insert(
        self,
        conn: asyncpg.Connection,
        message: asyncpg.Record,
        people: Sequence[Mapping[str, Any]],
        import_id: str | None,
        changed_at: datetime | None,
    ) -> list[str]:
        rows = [
            (p["id"], render(message["subject"], p), render(message["body"], p)) for p in people
        ]
        status = "delivered" if message["channel"] == "in_app" else "pending"
        return await repo.insert_deliveries(conn, message, rows, status, import_id, changed_at)

    async def sweep(self) -> None:
        """Process what a crash left behind: outbox rows never handled, pending sends."""
        async with self.pool.acquire() as conn:
            stale = await repo.stale_outbox(conn, older_than_s=15)
        for outbox_id, raw in stale:
            try:
                envelope = decode(raw)
                if not isinstance(envelope.payload, ContactsChanged):
                    raise UndecodableMessage(f"an outbox row holds {envelope.type}")
            except UndecodableMessage as exc:
                log.error("dropping an outbox row that cannot be read", extra={"error": str(exc)})
                async with self.pool.acquire() as conn:
                    await repo.delete_outbox(conn, outbox_id)
                continue
            try:
                await self.on_change(envelope.payload)
            except (PoisonMessage, ValueError, TypeError, KeyError) as exc:
                log.error("an outbox row failed; it is tried again", extra={"error": repr(exc)})
        await self.sender.sweep()


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncpg.QueryCanceledError):
        return "it took longer than the statement timeout (USHER_WORKER_STATEMENT_TIMEOUT_S)"
    return str(exc)


def _state(raw: dict[str, Any]) -> dict[str, Any]:
    """A matched state as it came through JSON, its dates parsed back for the templates."""
    state = dict(raw)
    for key in _DATE_FIELDS:
        if isinstance(state.get(key), str):
            state[key] = datetime.fromisoformat(state[key])
    return state
