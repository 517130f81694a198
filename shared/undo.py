"""Taking back what an import did to one contact (SPEC §6.3), one diff entry at a time. Pure.

An import's diff (shared.diff) says, per record, what it did: a created contact's values, an
updated one's ``(old, new)`` per field and the tags it added. Undoing an entry, given the contact
as it is now:

- *created*: if the contact is still exactly as the import created it (no field, attribute or
  tag changed since, no event recorded since), it is deleted; else it is kept, a conflict, and
  each difference is reported;
- *updated*: each field whose value is still the import's gets its value from before back;
  a field someone changed since keeps the newer value, reported (field, the import's value,
  the value now); the tags it added are removed; a lead it converted becomes a lead again (when
  its ``user_id`` is still the one the import gave it).

Entries are undone last first, so a person the import changed twice gets back, field by field,
what they had before its first change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from shared import diff, fields
from shared.identity import CREATED_FIELDS, Contact
from shared.values import fold

Action = Literal["delete", "revert", "keep"]
_DATES = frozenset(fields.DATES)


@dataclass(frozen=True)
class Kept:
    """A value someone changed since the import, kept."""

    field: str
    imported: Any
    now: Any

    def sentence(self) -> str:
        return (
            f"{self.field}: kept {_shown(self.now)}, changed since the import"
            f" (the import had {_shown(self.imported)})"
        )


@dataclass
class Undone:
    """What undoing one entry does: ``delete`` the contact, ``revert`` it (the contact is changed
    in place), or ``keep`` it as it is (a created contact changed since, or one that is gone);
    ``kept`` lists the values kept."""

    action: Action
    kept: list[Kept] = field(default_factory=list)


def plain(value: Any) -> Any:
    """A value as the diff stores it (dates as UTC ISO text with ``Z``)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def undo(entry: Sequence[Any], contact: Contact | None, has_events: bool = False) -> Undone:
    """Undo one stored diff entry (``[row, code, contact_id, matched_by, changes, …]``) on
    ``contact`` (None: it no longer exists)."""
    code = entry[1]
    changes = diff.changes_of(entry)
    if contact is None:
        return Undone("keep", [Kept("contact", "(the import's)", "(deleted since)")])
    if code == "c":
        kept = _changed_since_created(changes, contact)
        if has_events:
            kept.append(Kept("events", "(none)", "(recorded since)"))
        return Undone("keep", kept) if kept else Undone("delete")
    kept = []
    for key, value in changes.items():
        if key == "tags":
            gone = {fold(t) for t in value}
            contact.tags = [t for t in contact.tags if fold(t) not in gone]
        elif key == "role":
            continue  # with user_id, below
        elif key.startswith("custom."):
            name = key[len("custom.") :]
            old, new = value
            now = contact.custom.get(name)
            if plain(now) != new:
                kept.append(Kept(key, new, now))
            else:
                custom = dict(contact.custom)
                if old is None:
                    custom.pop(name, None)
                else:
                    custom[name] = old
                contact.custom = custom
        elif key == "user_id":
            old, new = value
            if contact.user_id != new:
                kept.append(Kept(key, new, contact.user_id))
            else:
                contact.user_id = old
                if "role" in changes and contact.role == changes["role"][1]:
                    contact.role = changes["role"][0]
        else:
            old, new = value
            now = getattr(contact, key)
            if plain(now) != new:
                kept.append(Kept(key, new, now))
            else:
                setattr(contact, key, _typed(key, old))
    return Undone("revert", kept)


def _changed_since_created(created: dict[str, Any], contact: Contact) -> list[Kept]:
    kept = []
    for key in CREATED_FIELDS:
        now = plain(getattr(contact, key))
        if now != created.get(key):
            kept.append(Kept(key, created.get(key), now))
    custom = {k[len("custom.") :]: v for k, v in created.items() if k.startswith("custom.")}
    for name in sorted(set(custom) | set(contact.custom)):
        now = plain(contact.custom.get(name))
        if now != custom.get(name):
            kept.append(Kept("custom." + name, custom.get(name), now))
    tags = created.get("tags") or []
    if {fold(t) for t in contact.tags} != {fold(t) for t in tags}:
        kept.append(Kept("tags", tags, list(contact.tags)))
    return kept


def _typed(key: str, value: Any) -> Any:
    """A stored old value back in the contact's type (dates were stored as text)."""
    if key in _DATES and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str) and value.startswith("("):
        return value
    return repr(plain(value))
