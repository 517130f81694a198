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

    def apply(self, kind: str, record: dict[str, Any], tag: str | None = None) -> str:
        """``record``: user_id / email / name as CSV text ('' = blank). Returns the outcome."""
        user_id = record.get("user_id", "").strip() or None
        email = record.get("email", "").strip() or None
        if user_id is not None and user_id.lower() in PLACEHOLDERS:
            return "failed"
        if email is None:
            return "failed"  # CSV rows need an email
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
        self, role: str, user_id: str | None, email: str, record: dict[str, Any], tag: str | None
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
        self, contact: dict[str, Any], record: dict[str, Any], email: str, tag: str | None
    ) -> str:
        contact["email"] = email
        if "name" in record:
            contact["name"] = record["name"].strip() or None
        if tag:
            contact["tags"].add(tag.lower())
        return "updated"

    def state(self) -> list[tuple[Any, ...]]:
        return sorted(
            (c["role"], c["user_id"] or "", c["email"], c["name"] or "", tuple(sorted(c["tags"])))
            for c in self.contacts
        )
