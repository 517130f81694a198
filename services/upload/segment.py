"""What one Segment message means for Usher (SPEC §7): a person to write, an event to store,
or nothing — pure, so every rule here is a unit test.

- ``identify`` with a ``userId`` → a user (``userId`` → ``user_id``); with only an
  ``anonymousId`` and ``traits.email`` → a lead; traits ``email``, ``name`` (else ``firstName`` /
  ``lastName``, also snake_case), ``phone``, ``createdAt`` (``created_at``) → the standard
  fields; every other trait with a plain value → a custom attribute of that name (objects and
  lists, and names an attribute cannot have, are left out with a warning).
- ``track`` → an event of the person with that ``userId``: ``event`` → its name, ``timestamp``
  → when (corrected for the client's clock as Segment does: received − (sentAt − timestamp)),
  ``properties`` → its metadata.
- ``alias``, ``group``, ``page``, ``screen`` are accepted and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.upload.event_input import EventIn, parse_event
from shared import values
from shared.errors import InvalidValue

IGNORED_TYPES = frozenset({"alias", "group", "page", "screen"})
_STANDARD = {
    "email": "email",
    "name": "name",
    "phone": "phone",
    "createdAt": "signed_up_at",
    "created_at": "signed_up_at",
}
_NAME_PARTS = ("firstName", "first_name", "lastName", "last_name")
_PLAIN = (str, int, float, bool)


@dataclass
class Message:
    """One message of a request, as Usher reads it."""

    index: int  # its place in the request
    message_id: str | None
    type: str
    kind: Literal["users", "leads"] | None = None  # an identify: who it writes
    contact: dict[str, Any] | None = None  # an identify: the contact as POST /api/users takes it
    event: EventIn | None = None  # a track
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ignored(self) -> bool:
        return self.type in IGNORED_TYPES and not self.errors


def read(index: int, raw: Any, sent_at: datetime | None, received_at: datetime) -> Message:
    """Message ``index`` of a request received at ``received_at`` (``sent_at``: the batch's)."""
    if not isinstance(raw, dict):
        return Message(index, None, "?", errors=["a message is a JSON object with a type"])
    message_id = raw.get("messageId")
    message = Message(
        index,
        str(message_id) if isinstance(message_id, str | int) and message_id != "" else None,
        str(raw.get("type") or "?"),
    )
    if message.type == "identify":
        _identify(raw, message)
    elif message.type == "track":
        _track(raw, message, sent_at, received_at)
    elif message.type not in IGNORED_TYPES:
        message.errors.append(
            f"type {message.type!r} is not a Segment message type"
            " (identify, track, alias, group, page, screen)"
        )
    return message


def _user_id(raw: dict[str, Any]) -> str | None:
    user_id = raw.get("userId")
    if user_id is None or user_id == "":
        return None
    return str(user_id)


def _identify(raw: dict[str, Any], message: Message) -> None:
    traits = raw.get("traits") or {}
    if not isinstance(traits, dict):
        message.errors.append("traits must be an object")
        return
    user_id = _user_id(raw)
    contact: dict[str, Any] = {}
    if user_id is not None:
        message.kind = "users"
        contact["user_id"] = user_id
    elif not isinstance(traits.get("email"), str) or not traits["email"].strip():
        message.errors.append(
            "an identify without userId needs traits.email: the person is then a lead"
        )
        return
    else:
        message.kind = "leads"
    custom: dict[str, Any] = {}
    for key, value in traits.items():
        standard = _STANDARD.get(key)
        if standard is not None:
            contact.setdefault(standard, value)
        elif key in _NAME_PARTS:
            continue
        elif key == "tags" and isinstance(value, list) and all(isinstance(t, str) for t in value):
            contact["tags"] = value
        elif not isinstance(value, _PLAIN) and value is not None:
            message.warnings.append(f"trait {key!r} is an object or a list: not kept")
        elif problems := values.check_attribute_name(key):
            message.warnings.append(f"trait {key!r} not kept: {problems[0]}")
        else:
            custom[key] = value
    if "name" not in contact:
        first = traits.get("firstName", traits.get("first_name"))
        last = traits.get("lastName", traits.get("last_name"))
        parts = [p.strip() for p in (first, last) if isinstance(p, str) and p.strip()]
        if parts:
            contact["name"] = " ".join(parts)
    if custom:
        contact["custom_attributes"] = custom
    message.contact = contact


def _track(
    raw: dict[str, Any], message: Message, sent_at: datetime | None, received_at: datetime
) -> None:
    user_id = _user_id(raw)
    if user_id is None:
        message.errors.append(
            "a track needs the userId of a person (identify them first): an anonymousId"
            " alone matches nobody"
        )
        return
    when: Any = received_at
    stamp = raw.get("timestamp")
    if stamp is not None:
        try:
            happened = values.parse_datetime(stamp)
        except InvalidValue as exc:
            message.errors.append(f"timestamp: {exc}")
            return
        when = received_at - (sent_at - happened) if sent_at is not None else happened
    properties = raw.get("properties")
    event, errors = parse_event(
        {
            "event_name": raw.get("event"),
            "created_at": when.isoformat(),
            "user_id": user_id,
            **({"metadata": properties} if properties else {}),
        }
    )
    if event is None:
        message.errors.extend(e.replace("event_name", "event") for e in errors)
    else:
        message.event = event


def sent_at(body: dict[str, Any]) -> datetime | None:
    """The batch's ``sentAt`` (the client's clock when it sent it), if it says one."""
    raw = body.get("sentAt")
    if raw is None:
        return None
    try:
        return values.parse_datetime(raw)
    except InvalidValue:
        return None
