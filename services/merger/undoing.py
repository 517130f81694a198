"""One chunk of an undo (SPEC §6.3), in the caller's transaction under the workspace lock: the
original import's diff chunk read back, its entries undone last first (shared.undo) on the
contacts as they are now, the reverted contacts written and the created ones deleted through the
one write path (shared.changes), each contact's outcome counted once.

A contact the import changed in several chunks is met by several undo chunks: ``undo_contacts``
remembers the outcome each contact got so far, so it is counted once, in its final outcome (a
conflict stays a conflict; a contact a later chunk reverted and an earlier one created is
deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.merger import repository as repo
from shared import changes, people_store, undo

OUTCOMES = {"delete": "d", "revert": "r", "keep": "c"}


@dataclass
class UndoneChunk:
    deleted: int = 0
    reverted: int = 0
    conflicts: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # kept values, per original row


async def undo_chunk(
    conn: asyncpg.Connection,
    workspace_id: str,
    undo_id: str,
    entries: Sequence[Sequence[Any]],
) -> UndoneChunk:
    todo = [e for e in entries if e[1] in ("c", "u")]
    ids = list(dict.fromkeys(e[2] for e in todo))
    contacts = await people_store.load_by_ids(conn, workspace_id, ids)
    created = [e[2] for e in todo if e[1] == "c"]
    eventful = await people_store.with_events(conn, created) if created else set()
    outcome: dict[str, str] = {}
    deleted: set[str] = set()
    restored: set[str] = set()  # changed back in memory: to be written
    result = UndoneChunk()
    for entry in sorted(todo, key=lambda e: e[0], reverse=True):
        contact_id = entry[2]
        contact = None if contact_id in deleted else contacts.get(contact_id)
        done = undo.undo(entry, contact, contact_id in eventful)
        code = "c" if done.kept else OUTCOMES[done.action]
        if outcome.get(contact_id) != "c":  # a conflict stays one
            outcome[contact_id] = code
        if done.action == "delete":
            deleted.add(contact_id)
        elif done.action == "revert":
            restored.add(contact_id)
        if done.kept:
            result.errors.append(
                {"row": entry[0], "errors": [k.sentence() for k in done.kept], "cells": None}
            )
    before = await repo.undo_outcomes(conn, undo_id, list(outcome))
    totals = {"d": 0, "r": 0, "c": 0}
    for contact_id, code in outcome.items():
        earlier = before.get(contact_id)
        if earlier == "c":
            code = outcome[contact_id] = "c"
        if earlier is not None:
            totals[earlier] -= 1
        totals[code] += 1
    await repo.save_undo_outcomes(conn, undo_id, outcome)
    # (a created contact kept as it is, changed since, is not written again)
    reverted = [contacts[c] for c in restored if c not in deleted]
    now = datetime.now(UTC)
    for contact in reverted:
        contact.updated_at = now
    if reverted:
        await changes.write(conn, workspace_id, people_store.contact_rows(workspace_id, reverted))
    await changes.delete(conn, workspace_id, sorted(deleted))
    result.deleted, result.reverted, result.conflicts = totals["d"], totals["r"], totals["c"]
    return result
