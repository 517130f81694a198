"""People changed: the one write path of every writer of people, and its announcement.

Every writer of people comes through here — the merger (an import chunk), ``POST /api/users``,
the events API (people who got events), and the writers to come (the compatible APIs, conflict
resolution, merge, undo: :func:`delete` removes people). In the writer's transaction, in this
order:

1. :func:`lock` — the workspace lock: writes to one workspace are applied one batch at a time;
2. :func:`ensure_attributes` — new custom attributes registered (the first type wins);
3. :func:`prepare` — the contacts the records can touch read into an index, the records applied
   one by one by the identity engine (``shared.identity``; for the merger, those that collide
   with nothing are created without a Contact each: ``Engine.solitary``), tag spellings
   settled;
4. :func:`write` — the new and changed contacts and the new tags written (set-based);
5. :func:`announce` — the live auto messages' audiences judged on every state the batch went
   through (``shared.audiences``), the ``contacts.changed`` event built with its outbox id;
6. :func:`stage` — its outbox row written, in the same transaction;

and after the commit, :func:`publish` — a publish that fails is logged and left to the
messenger's sweeper, which processes outbox rows nobody handled. :func:`write_records` is steps
1–6 for a writer that has its records at hand; the merger calls the steps itself, because it
prepares chunk *n + 1* while chunk *n* writes (services/merger/pipeline.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import audiences, diff, events, people_store, previews
from shared.events import ContactsChanged
from shared.identity import (
    Contact,
    Engine,
    Index,
    Kind,
    Outcome,
    State,
    created_matching,
    merge_into,
    merge_refusal,
)
from shared.ids import new_id
from shared.logs import get_logger
from shared.people_store import TagSpelling, lock_workspace
from shared.values import email_key

log = get_logger(__name__)

lock = lock_workspace
ensure_attributes = people_store.ensure_attributes


class Exists(Exception):
    """:func:`write_records` with ``create_only``: record ``index`` matches an existing contact
    by the identity rules (nothing was written; the caller's transaction is to be rolled
    back)."""

    def __init__(self, index: int, contact_id: str) -> None:
        super().__init__(contact_id)
        self.index = index
        self.contact_id = contact_id


class Unappliable(Exception):
    """The engine raised on one record (a bug its data trips): the caller fails that record
    alone and prepares the batch again without it (``skip``)."""

    def __init__(self, row: Any) -> None:
        super().__init__(row)
        self.row = row


@dataclass
class Prepared:
    """A batch of records applied in memory, not written yet."""

    engine: Engine
    spelling: TagSpelling
    now: datetime
    outcomes: list[Outcome | None] = field(default_factory=list)  # per record; None: skipped
    created: int = 0
    updated: int = 0
    # A dry run's records (by index) that changed someone an earlier record of it changed.
    again: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """A ``contacts.changed`` event ready to be staged in the outbox and published."""

    outbox_id: int
    topic: str
    key: bytes
    value: bytes


async def prepare(
    conn: asyncpg.Connection,
    workspace_id: str,
    records: Sequence[Mapping[str, Any]],
    kind: Kind,
    tag: str | None = None,
    *,
    carried: Mapping[str, Contact] | None = None,
    carried_index: Index | None = None,
    carried_tags: Mapping[str, str] | None = None,
    carried_created: Mapping[str, State] | None = None,
    skip: AbstractSet[int] = frozenset(),
    pause: Callable[[], Awaitable[None]] | None = None,
    pause_every: int = 250,
    preview: str | None = None,
    placed: Mapping[int, str | None] | None = None,
    meanwhile: Callable[[], None] | None = None,
    solitary: bool = False,
) -> Prepared:
    """Apply ``records`` in memory over the contacts they can touch: those read from the
    database, with ``carried`` contacts (id -> contact: a batch still committing, as it will
    be; ``carried_index`` the index it was applied in, which finds them by user_id and email;
    ``carried_created`` the contacts it created as states, :meth:`Engine.create_solitary`) in
    place of their stored state, and those of them the records can touch besides. Records
    whose index is in ``skip`` are not applied. ``pause`` is awaited every ``pause_every``
    records (to let a commit in flight go on; 250: more often made the merger slower).
    ``preview`` (a dry run's import id) reads people as that dry run has them so far
    (shared.previews) and gives the people it would create ids that say so. ``placed``
    (record index -> contact id, or None for a new contact) applies those records where a
    person chose instead of by the identity rules (a conflict resolved, SPEC §6.4).
    ``meanwhile`` runs while the contacts are read, before any record is applied (the merger
    parses the records' dates there). ``solitary``: the records that collide with nothing
    (:meth:`Engine.solitary`) are created as states, without a Contact each (the merger: most
    records of a large import; a caller that reads ``outcome.contact`` leaves it off). Raises
    :class:`Unappliable` with the record's index when the engine raises on it."""
    user_ids = [r["user_id"] for r in records if r.get("user_id") is not None]
    # Each email's key computed once: the index looks most of them up two or three times.
    keys = {e: email_key(e) for r in records if (e := r.get("email")) is not None}
    email_keys = set(keys.values())

    async def read() -> tuple[list[Contact], set[str] | None]:
        if preview is None:
            return await people_store.load_contacts(conn, workspace_id, user_ids, email_keys), None
        return await previews.load_contacts(conn, workspace_id, preview, user_ids, email_keys)

    # The contacts are read while the records' tags are gathered and ``meanwhile`` runs.
    loading = asyncio.ensure_future(read())
    try:
        await asyncio.sleep(0)  # (the query goes out)
        tag_names = _tag_names(records, tag)
        if meanwhile is not None:
            meanwhile()
    finally:
        contacts, earlier = await loading  # (never a query left running on the connection)
    known = await people_store.load_tags(conn, workspace_id, tag_names)
    if preview is not None:
        known.update(await previews.load_tags(conn, preview, tag_names))
    if placed:
        chosen = [c for c in placed.values() if c is not None]
        have = {c.id for c in contacts}
        found = await people_store.load_by_ids(conn, workspace_id, chosen)
        contacts.extend(c for c in found.values() if c.id not in have)
    if carried or carried_created:
        # The carried contacts read stale from the database, and those the records can find
        # by a user_id or an email they have now (not the thousands of others).
        assert carried_index is not None
        carried = carried or {}
        mine = {c.id: c for c in contacts if c.id in carried}
        for cid, contact in carried_index.matching(user_ids, email_keys).items():
            if cid in carried:
                mine[cid] = contact
        contacts = [c for c in contacts if c.id not in mine]
        contacts.extend(carried[cid] for cid in mine)
        if carried_created:
            stored = created_matching(carried_created, carried_index, user_ids, email_keys)
            contacts.extend(stored)
            mine.update((c.id, c) for c in stored)
        if earlier is not None:
            earlier |= mine.keys()
    if carried_tags:
        known.update(carried_tags)
    spelling = TagSpelling(known)
    now = datetime.now(UTC)
    prefix = "c_" if preview is None else diff.PREVIEW_ID_PREFIX
    engine = Engine(
        Index(contacts, keys), now=now, new_id=lambda: new_id(prefix), canonical_tag=spelling
    )
    prepared = Prepared(engine, spelling, now)
    outcomes = prepared.outcomes
    alone = (
        engine.solitary(records, kind, {*skip, *(placed or ())})
        if solitary
        else [False] * len(records)
    )
    for i, record in enumerate(records):
        if pause is not None and i % pause_every == 0:
            await pause()
        if skip and i in skip:
            outcomes.append(None)
            continue
        try:
            if alone[i]:
                outcome = engine.create_solitary(record, kind, tag)
            elif placed is not None and i in placed:
                target = placed[i]
                chosen_contact = engine.index.by_id.get(target) if target is not None else None
                if target is not None and chosen_contact is None:
                    raise LookupError(f"contact {target} does not exist")
                outcome = engine.apply_to(chosen_contact, record, kind, tag)
            else:
                outcome = engine.apply(record, kind, tag)
        except LookupError:
            raise
        except Exception as exc:
            raise Unappliable(i) from exc
        outcomes.append(outcome)
        if outcome.result == "created":
            prepared.created += 1
        elif outcome.result == "updated":
            prepared.updated += 1
        if earlier is not None and outcome.contact is not None:
            if outcome.contact.id in earlier:
                prepared.again.append(i)
            else:
                earlier.add(outcome.contact.id)
    return prepared


def _tag_names(records: Sequence[Mapping[str, Any]], tag: str | None) -> set[str]:
    """The tag names the records (and the import's ``tag``) give people."""
    names = {t for r in records for t in r.get("tags") or ()}
    if tag:
        names.add(tag)
    return names


async def write(
    conn: asyncpg.Connection,
    workspace_id: str,
    rows: people_store.Rows,
    fresh_tags: Iterable[str] = (),
    *,
    preview: str | None = None,
) -> int | None:
    """Write the rows :func:`people_store.contact_rows` took and the batch's new tags; returns
    the workspace's new ``people_version``. For a dry run (``preview``: its import id) they go
    to its own tables instead, and the workspace is not written (None)."""
    fresh = list(fresh_tags)
    if preview is not None:
        await previews.write(conn, preview, rows, fresh)
        return None
    if fresh:
        await people_store.save_tags(conn, workspace_id, fresh)
    return await people_store.write_rows(conn, workspace_id, rows)


async def delete(conn: asyncpg.Connection, workspace_id: str, ids: Sequence[str]) -> None:
    """Delete contacts (an undo taking back those its import created, a merge), with their
    events and deliveries, under the workspace lock the caller holds."""
    await people_store.delete_contacts(conn, workspace_id, ids)


async def announce(
    conn: asyncpg.Connection,
    workspace_id: str,
    topic: str,
    *,
    engine: Engine | None = None,
    contact_ids: Sequence[str] = (),
    now: datetime | None = None,
    import_id: str | None = None,
    suppressed: Sequence[str] = (),
    judged: audiences.Judged | None = None,
) -> Change | None:
    """The ``contacts.changed`` event of a batch (None when nobody changed), with its outbox id
    reserved. With ``engine`` (people written) the live audiences are judged on the states the
    batch went through (``judged``: as :func:`audiences.judge_early` judged them, if what they
    were judged on is unchanged); with ``contact_ids`` alone (people who got events) the
    messenger judges them on the database. Messages in ``suppressed`` (an import's message
    policy, SPEC §6.2) are not sent for this change."""
    ids = engine.changed_ids() if engine is not None else list(dict.fromkeys(contact_ids))
    if not ids:
        return None
    committed_at = now or (engine.now if engine is not None else datetime.now(UTC))
    verdict = (
        await audiences.judge(conn, workspace_id, engine, committed_at, suppressed, earlier=judged)
        if engine is not None
        else audiences.Verdict()
    )
    outbox_id = await people_store.next_outbox_id(conn)
    change = ContactsChanged(
        workspace_id=workspace_id,
        import_id=import_id,
        contact_ids=ids,
        committed_at=committed_at,
        outbox_id=outbox_id,
        evaluated=verdict.evaluated,
        matched=verdict.matched,
        suppressed=list(suppressed),
    )
    value = events.encode(change, correlation_id=import_id)
    return Change(outbox_id, topic, workspace_id.encode(), value)


async def stage(conn: asyncpg.Connection, change: Change | None) -> None:
    """Write the change's outbox row (in the writer's transaction)."""
    if change is not None:
        await people_store.add_outbox(
            conn, change.outbox_id, change.topic, change.key, change.value
        )


async def publish(producer: AIOKafkaProducer, change: Change | None, *, wait: bool = True) -> None:
    """After commit: send the event. A failure is logged, not raised: the outbox row stays,
    and the messenger's sweeper processes it (at most ~15 s later). ``wait=False`` returns
    once the event is queued in the producer, in order, without waiting for the broker (the
    merger's next chunk need not wait for it)."""
    if change is None:
        return
    try:
        if wait:
            await producer.send_and_wait(change.topic, change.value, key=change.key)
        else:
            sent = await producer.send(change.topic, change.value, key=change.key)
            sent.add_done_callback(_log_failure)
    except Exception as exc:
        _not_published(exc)


def _log_failure(sent: asyncio.Future[Any]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        _not_published(sent.exception())


def _not_published(exc: BaseException | None) -> None:
    log.warning("contacts-changed not published now", extra={"error": repr(exc)})


@dataclass
class Written:
    """What :func:`write_records` did: one outcome per record, and the change to publish."""

    outcomes: list[Outcome | None]
    change: Change | None


async def write_records(
    conn: asyncpg.Connection,
    workspace_id: str,
    records: Sequence[Mapping[str, Any]],
    kind: Kind,
    topic: str,
    *,
    tag: str | None = None,
    new_attributes: Mapping[str, str] | None = None,
    trigger_messages: bool = True,
    import_id: str | None = None,
    placed: Mapping[int, str | None] | None = None,
    create_only: bool = False,
    locked: bool = False,
) -> Written:
    """Steps 1–6 of the module docstring for records at hand, in the caller's transaction; the
    caller commits, then :func:`publish` es ``written.change``. ``placed``: see
    :func:`prepare` (LookupError when a chosen contact does not exist). ``create_only`` (a
    create that never updates, as Intercom's ``POST /contacts``): a record the identity rules
    match to an existing contact raises :class:`Exists` before anything is written.
    ``locked``: the caller's transaction holds the workspace lock already."""
    if not locked:
        await lock(conn, workspace_id)
    if new_attributes:
        await ensure_attributes(conn, workspace_id, new_attributes)
    prepared = await prepare(conn, workspace_id, records, kind, tag, placed=placed)
    if create_only:
        for i, outcome in enumerate(prepared.outcomes):
            if outcome is not None and outcome.result == "updated" and outcome.contact:
                raise Exists(i, outcome.contact.id)
    engine = prepared.engine
    await write(
        conn,
        workspace_id,
        people_store.contact_rows(workspace_id, engine.changed.values(), engine.created.values()),
        prepared.spelling.fresh.values(),
    )
    change = None
    if trigger_messages:
        change = await announce(conn, workspace_id, topic, engine=engine, import_id=import_id)
        await stage(conn, change)
    return Written(prepared.outcomes, change)


async def merge(
    conn: asyncpg.Connection, workspace_id: str, from_id: str, into_id: str, topic: str
) -> tuple[Contact, Change | None]:
    """Merge contact ``from_id`` into ``into_id`` (SPEC §6.4), in the caller's transaction:
    ``into`` keeps its values, fills its blanks from ``from`` and gains its tags and custom
    attributes, its events and deliveries move over (a message both had counts once), ``from``
    is deleted. Raises LookupError (a contact does not exist) or ValueError (the rules refuse,
    ``str(e)`` says why). Returns the merged contact and the change to publish."""
    await lock(conn, workspace_id)
    found = await people_store.load_by_ids(conn, workspace_id, [from_id, into_id])
    for cid in (from_id, into_id):
        if cid not in found:
            raise LookupError(cid)
    other, into = found[from_id], found[into_id]
    refusal = merge_refusal(other, into)
    if refusal is not None:
        raise ValueError(refusal)
    merge_into(into, other)
    into.updated_at = datetime.now(UTC)
    await write(conn, workspace_id, people_store.contact_rows(workspace_id, [into]))
    await people_store.move_activity(conn, from_id, into_id)
    await delete(conn, workspace_id, [from_id])
    change = await announce(conn, workspace_id, topic, contact_ids=[into_id])
    await stage(conn, change)
    return into, change
