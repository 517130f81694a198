"""A deliberately plain reference model of the identity rules (SPEC §2.1), for property tests.

Contacts are dicts in a list; each record is applied literally, one at a time.
"""

from __future__ import annotations

from typing import Any

PLACEHOLDERS = {"0", "-1", "null", "none", "undefined", "anonymous", "guest", "nan"}


class Reference:
    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = []

    def _same_email(self, email: str) -> list[dict[str, Any]]:
        return [
            c
            for c in self.contacts
            if c["email"] is not None and c["email"].lower() == email.lower()
        ]

    def apply(
        self,
        kind: str,
        record: dict[str, Any],
        tag: str | None = None,
        *,
        email_required: bool = True,
    ) -> str:
        """``record``: user_id / email / name as CSV text ('' = blank). Returns the outcome.
        CSV rows need an email; an API write (``email_required=False``) of a user may name
        them by user_id alone (its email is then left as it is)."""
        user_id = record.get("user_id", "").strip() or None
        email = record.get("email", "").strip() or None
        if user_id is not None and user_id.lower() in PLACEHOLDERS:
            return "failed"
        if email is None and (email_required or kind == "leads" or user_id is None):
            return "failed"
        if email is None:
            for c in self.contacts:
                if c["user_id"] == user_id:
                    return self._update(c, record, email, tag)
            return self._create("user", user_id, email, record, tag)
        if kind == "leads":
            found = self._same_email(email)
            if len(found) > 1:
                return "failed"
            if found:
                return self._update(found[0], record, email, tag)
            return self._create("lead", None, email, record, tag)
        if user_id is not None:
            for c in self.contacts:
                if c["user_id"] == user_id:
                    return self._update(c, record, email, tag)
            anonymous = [c for c in self._same_email(email) if c["user_id"] is None]
            if len(anonymous) == 1:
                anonymous[0]["user_id"] = user_id
                anonymous[0]["role"] = "user"
                return self._update(anonymous[0], record, email, tag)
            return self._create("user", user_id, email, record, tag)
        users = [c for c in self._same_email(email) if c["role"] == "user"]
        if len(users) > 1:
            return "failed"
        if users:
            return self._update(users[0], record, email, tag)
        return self._create("user", None, email, record, tag)

    def _create(
        self,
        role: str,
        user_id: str | None,
        email: str | None,
        record: dict[str, Any],
        tag: str | None,
    ) -> str:
        contact: dict[str, Any] = {
            "role": role,
            "user_id": user_id,
            "email": email,
            "name": None,
            "tags": set(),
        }
        self.contacts.append(contact)
        self._update(contact, record, email, tag)
        return "created"

    def _update(
        self, contact: dict[str, Any], record: dict[str, Any], email: str | None, tag: str | None
    ) -> str:
        if email is not None:
            contact["email"] = email
        if "name" in record:
            contact["name"] = record["name"].strip() or None
        if tag:
            contact["tags"].add(tag.lower())
        return "updated"

    def state(self) -> list[tuple[Any, ...]]:
        return sorted(
            (
                c["role"],
                c["user_id"] or "",
                c["email"] or "",
                c["name"] or "",
                tuple(sorted(c["tags"])),
            )
            for c in self.contacts
        )


class UndoableReference(Reference):
    """The reference model with undo (SPEC §6.3): each import's effect is journaled per contact
    (created with its state, or each field's old and new value and the tags added), and undoing
    it takes that back last entry first — a field whose value is no longer the import's keeps
    its newer value (a conflict), a created contact changed since is kept (a conflict)."""

    FIELDS = ("role", "user_id", "email", "name")

    def __init__(self) -> None:
        super().__init__()

    @classmethod
    def _fields(cls, contact: dict[str, Any]) -> dict[str, Any]:
        return {**{f: contact[f] for f in cls.FIELDS}, "tags": frozenset(contact["tags"])}

    def apply_logged(
        self, journal: list[Any], kind: str, record: dict[str, Any], tag: str | None = None
    ) -> str:
        before = {id(c): self._fields(c) for c in self.contacts}
        outcome = self.apply(kind, record, tag)
        for contact in self.contacts:
            now = self._fields(contact)
            old = before.get(id(contact))
            if old is None:
                journal.append(("c", contact, now))
            elif old != now:
                changes = {f: (old[f], now[f]) for f in self.FIELDS if old[f] != now[f]}
                journal.append(("u", contact, changes, now["tags"] - old["tags"]))
        return outcome

    def undo(self, journal: list[Any]) -> dict[str, int]:
        """Take back a journaled import; ``{"deleted", "reverted", "conflicts"}``."""
        outcome: dict[int, str] = {}
        for entry in reversed(journal):
            contact = entry[1]
            key = id(contact)
            if not any(c is contact for c in self.contacts):
                code = "c"
            elif entry[0] == "c":
                code = "d" if self._fields(contact) == entry[2] else "c"
                if code == "d":
                    self.contacts = [c for c in self.contacts if c is not contact]
            else:
                changes, added = entry[2], entry[3]
                kept = False
                for field, (old, new) in changes.items():
                    if field == "role":
                        continue
                    if contact[field] != new:
                        kept = True
                        continue
                    contact[field] = old
                    if field == "user_id" and "role" in changes:
                        if contact["role"] == changes["role"][1]:
                            contact["role"] = changes["role"][0]
                contact["tags"] = set(contact["tags"]) - set(added)
                code = "c" if kept else "r"
            if outcome.get(key) != "c":
                outcome[key] = code
        codes = list(outcome.values())
        return {
            "deleted": codes.count("d"),
            "reverted": codes.count("r"),
            "conflicts": codes.count("c"),
        }
