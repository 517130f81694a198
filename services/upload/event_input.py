"""Validating one event of the events API (SPEC §4). Pure: no I/O.

An event names its person by ``id`` (Usher's), ``user_id`` or ``email`` — when several are
given, the first of that order is used, as ``id`` and ``user_id`` are unique and an email may be
shared. Its name is normalised (``shared.values.normalize_event_name``); ``created_at`` is
required (ISO 8601, DD/MM/YYYY or Unix seconds), since it is what makes a retried event the same
event; ``metadata`` is a flat object of at most 10 keys whose values are strings (at most 255
characters), numbers, booleans or null.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from shared import jsonfile, values
from shared.errors import FileProblem, InvalidValue

MAX_METADATA = 10
MAX_KEY = 190
KNOWN_KEYS = ("event_name", "created_at", "id", "user_id", "email", "metadata")
By = Literal["id", "user_id", "email"]


@dataclass(frozen=True, slots=True)
class EventIn:
    name: str
    created_at: datetime
    by: By  # which identifier names the person
    key: str  # its value (an email lower-cased, for lookup)
    shown: str  # its value as given, for messages
    metadata: dict[str, Any]


def _person(obj: dict[str, Any], errors: list[str]) -> tuple[By, str, str] | None:
    raw_id = obj.get("id")
    if raw_id is not None:
        if not isinstance(raw_id, str) or not raw_id.strip():
            errors.append("id must be a contact id (a non-empty string)")
            return None
        try:
            contact_id = values.check_label(raw_id.strip(), "id")
        except InvalidValue as exc:
            errors.append(str(exc))
            return None
        return "id", contact_id, contact_id
    raw_user = obj.get("user_id")
    if raw_user is not None:
        if isinstance(raw_user, bool) or not isinstance(raw_user, str | int):
            errors.append("user_id must be a string")
            return None
        try:
            user_id = values.parse_identifier(str(raw_user), "user_id")
        except InvalidValue as exc:
            errors.append(str(exc))
            return None
        if user_id is not None:
            return "user_id", user_id, user_id
    raw_email = obj.get("email")
    if raw_email is not None:
        if not isinstance(raw_email, str):
            errors.append("email must be a string")
            return None
        try:
            email = values.parse_email(raw_email)
        except InvalidValue as exc:
            errors.append(str(exc))
            return None
        return "email", values.email_key(email), email
    errors.append("say whose event it is: give user_id, email or id")
    return None


def _metadata(raw: Any, errors: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append("metadata must be an object of at most 10 keys")
        return {}
    if len(raw) > MAX_METADATA:
        errors.append(f"metadata has {len(raw)} keys: at most {MAX_METADATA} are allowed")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.strip() or len(key) > MAX_KEY:
            errors.append(f"metadata key {key[:40]!r} must have 1 to {MAX_KEY} characters")
            continue
        try:
            values.check_label(key, "metadata key")
            if isinstance(value, str):
                values.check_text(value, f"metadata {key!r}")
        except InvalidValue as exc:
            errors.append(str(exc))
            continue
        if isinstance(value, dict | list):
            errors.append(
                f"metadata {key!r} must be a string, number, boolean or null: metadata is flat"
            )
        elif isinstance(value, str) and len(value) > values.MAX_STRING:
            errors.append(
                f"metadata {key!r} is {len(value)} characters long:"
                f" at most {values.MAX_STRING} are allowed"
            )
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(f"metadata {key!r} must be a finite number")
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not (-values.INT64_MAX - 1 <= value <= values.INT64_MAX)
        ):
            errors.append(f"metadata {key!r} is outside the 64-bit integer range")
        else:
            out[key] = value
    return out


def parse_event(obj: Any) -> tuple[EventIn | None, list[str]]:
    """``(event, [])`` or ``(None, every problem of it)``."""
    if not isinstance(obj, dict):
        return None, ["an event is a JSON object with event_name, created_at and user_id/email/id"]
    errors: list[str] = [
        f"unknown field {key!r}: put extra data under metadata"
        for key in obj
        if key not in KNOWN_KEYS
    ]
    name: str | None = None
    raw_name = obj.get("event_name")
    if not isinstance(raw_name, str):
        errors.append("event_name is required (a string)")
    else:
        try:
            name = values.normalize_event_name(raw_name)
        except InvalidValue as exc:
            errors.append(f"event_name: {exc}")
    created_at: datetime | None = None
    raw_time = obj.get("created_at")
    if raw_time is None or raw_time == "":
        errors.append("created_at is required: when it happened (ISO 8601 or Unix seconds)")
    elif isinstance(raw_time, bool) or not isinstance(raw_time, str | int | float):
        errors.append("created_at must be a date string or Unix seconds")
    else:
        try:
            created_at = values.parse_datetime(raw_time)
        except InvalidValue as exc:
            errors.append(f"created_at: {exc}")
    person = _person(obj, errors)
    metadata = _metadata(obj.get("metadata"), errors)
    if errors or name is None or created_at is None or person is None:
        return None, errors
    by, key, shown = person
    return EventIn(name, created_at, by, key, shown, metadata), []


@dataclass
class Stored:
    """What became of a batch of events: counts, and per failed event its index and errors."""

    stored: int = 0
    duplicates: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)  # indexes of unknown people
    ambiguous: list[int] = field(default_factory=list)


def resolve(
    batch: Sequence[tuple[int, EventIn]], people: Iterable[Mapping[str, Any]]
) -> tuple[list[tuple[str, EventIn]], Stored]:
    """Whose each event is, from the contacts found for the batch (``id``, ``user_id``,
    ``email_lower``): ``([(contact id, event)], the failures so far)``. An email shared by
    several contacts is ambiguous; an identifier nobody has is a missing person."""
    outcome = Stored()
    ids: set[str] = set()
    by_user_id: dict[str, str] = {}
    by_email: dict[str, set[str]] = {}
    for person in people:
        ids.add(person["id"])
        if person["user_id"] is not None:
            by_user_id[person["user_id"]] = person["id"]
        if person["email_lower"] is not None:
            by_email.setdefault(person["email_lower"], set()).add(person["id"])
    rows: list[tuple[str, EventIn]] = []
    for index, event in batch:
        contact: str | None = None
        if event.by == "id":
            contact = event.key if event.key in ids else None
        elif event.by == "user_id":
            contact = by_user_id.get(event.key)
        else:
            matches = by_email.get(event.key, set())
            if len(matches) > 1:
                outcome.ambiguous.append(index)
                outcome.failures.append(
                    {
                        "index": index,
                        "errors": [
                            f"ambiguous email: {len(matches)} contacts share"
                            f" {event.shown!r}; say whose event it is with user_id or id"
                        ],
                    }
                )
                continue
            contact = next(iter(matches), None)
        if contact is None:
            outcome.missing.append(index)
            outcome.failures.append(
                {"index": index, "errors": [f"no person with {event.by} {event.shown!r}"]}
            )
            continue
        rows.append((contact, event))
    return rows, outcome


def body_items(raw: bytes, content_type: str) -> list[tuple[Any, str | None]]:
    """The records of a JSON array or NDJSON body: ``(value, None)`` or ``(None, error)``."""
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if jsonfile.is_ndjson(content_type) or text.startswith(b"{"):
        out: list[tuple[Any, str | None]] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                out.append((jsonfile.loads(line), None))
            except orjson.JSONDecodeError as exc:
                out.append((None, f"not valid JSON: {exc}"))
        return out
    try:
        value = jsonfile.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FileProblem(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise FileProblem("send a JSON array of events (or NDJSON, one event a line)")
    return [(v, None) for v in value]


def validate(items: list[tuple[Any, str | None]]) -> tuple[list[tuple[int, EventIn]], list[Any]]:
    valid: list[tuple[int, EventIn]] = []
    failures: list[dict[str, Any]] = []
    for index, (value, problem) in enumerate(items):
        if problem is not None:
            failures.append({"index": index, "errors": [problem]})
            continue
        event, errors = parse_event(value)
        if event is None:
            failures.append({"index": index, "errors": errors})
        else:
            valid.append((index, event))
    return valid, failures


def public(event: EventIn) -> dict[str, Any]:
    """An event as the API answers it: its name, time, the identifier it was named by, and
    its metadata."""
    return {
        "event_name": event.name,
        "created_at": event.created_at,
        event.by: event.shown,
        "metadata": event.metadata,
    }
