"""Event payloads and the one envelope they travel in.

Every Kafka message value is an :class:`Envelope` serialised with orjson. Payloads are frozen
pydantic models; readers ignore unknown fields, and a breaking change bumps ``schema_version``.
Credentials never appear in any payload: remote connectors read them from the imports table.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from shared.errors import UndecodableMessage


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    TYPE: ClassVar[str]


class ImportRequested(Payload):
    """The upload service queued an import; the parser reads its file (or remote source)."""

    TYPE: ClassVar[str] = "import.requested"
    import_id: str
    workspace_id: str


class RowChunk(Payload):
    """A contiguous range of an import's records, in source order.

    ``rows`` holds the records that passed validation as dicts of normalised values (a key that is
    absent leaves that field alone; ``None`` clears it), each with ``_row`` = its 1-based record
    number and, when values were left out of it (``invalid_values: "skip_value"``),
    ``_warnings`` saying which and why. ``errors`` holds the records of the same range that
    failed validation (``{"row", "errors", "cells"}``). The merger applies both in one
    transaction, exactly once per ``(import_id, seq)``.
    """

    TYPE: ClassVar[str] = "import.rows"
    import_id: str
    workspace_id: str
    seq: int
    kind: Literal["users", "leads"]
    tag: str | None = None
    trigger_messages: bool = True
    suppress_messages: list[str] = Field(default_factory=list)
    # A dry run (SPEC §6.1) changes nothing in the workspace; ``run`` is the import's run the
    # chunk belongs to (a chunk of an earlier run is skipped).
    dry_run: bool = False
    run: int = 0
    rows: Annotated[list[dict[str, Any]], SkipValidation] = Field(default_factory=list)
    errors: Annotated[list[dict[str, Any]], SkipValidation] = Field(default_factory=list)


class UndoChunk(Payload):
    """Chunk ``seq`` of an undo (SPEC §6.3): take back what chunk ``source_seq`` of import
    ``undo_of`` did, reading its diff (the merger applies it exactly once per ``(import_id,
    seq)``, like a chunk of rows)."""

    TYPE: ClassVar[str] = "import.undo"
    import_id: str
    workspace_id: str
    undo_of: str
    seq: int
    source_seq: int
    run: int = 0
    dry_run: bool = False  # an undo is never a dry run (read like a RowChunk's)


class ImportParsed(Payload):
    """The parser reached the end of the source: ``chunks`` chunks holding ``rows`` records."""

    TYPE: ClassVar[str] = "import.parsed"
    import_id: str
    workspace_id: str
    chunks: int
    rows: int
    run: int = 0


class ContactsChanged(Payload):
    """People created or updated by one committed transaction (one chunk or one API call)."""

    TYPE: ClassVar[str] = "contacts.changed"
    workspace_id: str
    import_id: str | None = None
    contact_ids: list[str]
    committed_at: datetime
    outbox_id: int | None = None  # the messenger deletes this outbox row once it is processed
    # The writer's verdict (shared.audiences.judge), made on the states the transaction went
    # through, not on the database, which may already hold a later change by the time the
    # messenger reads this. ``evaluated``: message id -> version judged; ``matched``: message id
    # -> contact id -> the state the person first matched in. Live messages not evaluated here
    # (or changed since) are judged by the messenger on the database.
    evaluated: dict[str, str] = Field(default_factory=dict)
    matched: Annotated[dict[str, dict[str, dict[str, Any]]], SkipValidation] = Field(
        default_factory=dict
    )
    # Messages the change must not send (the import's message policy, SPEC §6.2).
    suppressed: list[str] = Field(default_factory=list)


class MessageActivated(Payload):
    """A message went live: deliver it to everyone who matches now."""

    TYPE: ClassVar[str] = "message.activated"
    workspace_id: str
    message_id: str


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    cls.TYPE: cls
    for cls in (
        ImportRequested,
        RowChunk,
        UndoChunk,
        ImportParsed,
        ContactsChanged,
        MessageActivated,
    )
}


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    correlation_id: str | None = None
    payload: Payload


def encode(payload: Payload, correlation_id: str | None = None) -> bytes:
    """Wrap ``payload`` in a new envelope and serialise it."""
    return orjson.dumps(
        {
            "event_id": uuid.uuid4().hex,
            "type": payload.TYPE,
            "schema_version": 1,
            "occurred_at": datetime.now(UTC),
            "correlation_id": correlation_id,
            # Payloads are flat: a shallow dict is enough, and skips re-walking thousands of rows.
            "payload": dict(payload),
        }
    )


def decode(raw: bytes | None) -> Envelope:
    """Parse one message value. Raises :class:`UndecodableMessage` with the reason."""
    if raw is None:
        raise UndecodableMessage("empty message value")
    try:
        obj = orjson.loads(raw)
        kind = obj["type"]
        cls = PAYLOAD_TYPES[kind]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise UndecodableMessage(f"not a Usher event envelope: {exc!r}") from None
    try:
        payload = cls.model_validate(obj["payload"])
        return Envelope(
            event_id=obj["event_id"],
            type=kind,
            schema_version=obj.get("schema_version", 1),
            occurred_at=obj["occurred_at"],
            correlation_id=obj.get("correlation_id"),
            payload=payload,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise UndecodableMessage(f"invalid {kind} payload: {exc}") from None
