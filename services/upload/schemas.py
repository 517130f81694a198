"""The API's shapes: what requests may hold and what answers look like (pydantic models).

Request text fields that will be stored refuse what PostgreSQL cannot hold (NUL, lone
surrogates); a name shown on one line refuses control characters and text-direction overrides
too (``shared.values``), each refusal a 422 naming the field. Every route declares its answer
(``response_model=``), so the OpenAPI document — and schemathesis — know the responses; the
``from_row`` constructors are the presenters of database rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from services.upload import messaging, outcomes
from shared import channels, values
from shared.errors import InvalidValue

T = TypeVar("T")


def _checked(check: Callable[[str, str], str], what: str) -> Callable[[str | None], str | None]:
    """A pydantic validator from a shared.values check (its InvalidValue becomes a 422)."""

    def validator(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check(value, what)
        except InvalidValue as exc:
            raise ValueError(str(exc)) from None

    return validator


def _one_line(value: str, what: str) -> str:
    """A subject becomes an email header: one line (a placeholder may still bring a line
    break from a person's data; the email channel folds those)."""
    if "\n" in value or "\r" in value:
        raise InvalidValue(f"{what} is one line: remove the line break")
    return values.check_label(value, what)


def _utc(value: datetime) -> str:
    """ISO 8601 with ``Z``, also for a value the driver gave without a zone (year 1)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


Name = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(_checked(values.check_label, "name"))
]
Subject = Annotated[
    str | None, Field(max_length=998), AfterValidator(_checked(_one_line, "the subject"))
]
Body = Annotated[
    str, Field(max_length=100_000), AfterValidator(_checked(values.check_text, "the body"))
]
When = Annotated[datetime, PlainSerializer(_utc, return_type=str)]


class FromRow(BaseModel):
    """An answer whose fields are columns of one database row, by the same names."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(**{name: row[name] for name in cls.model_fields})


class Page(BaseModel, Generic[T]):
    """Every list: ``data``, and ``next_cursor`` (null on the last page)."""

    data: list[T]
    next_cursor: str | None


# -- imports --------------------------------------------------------------------------------


class Counts(BaseModel):
    rows: int = Field(
        description="the records: all of them once completed; once it was cancelled or failed,"
        " those done (created + updated + failed; the rest is rows_not_processed)"
    )
    created: int
    updated: int
    failed: int
    unchanged: int = Field(description="records that matched a contact and changed nothing")
    warnings: int = Field(description="records applied with a value left out")


class UndoCounts(Counts):
    """An undo's counts (SPEC §6.3): ``deleted + reverted + conflicts == rows``."""

    deleted: int
    reverted: int
    conflicts: int


class FieldCounts(BaseModel):
    set: int
    changed: int
    cleared: int


class MessageReach(BaseModel):
    message_id: str
    name: str
    deliveries: int = Field(description="people it would reach (a dry run) or reached")
    suppressed: bool
    cancelled: int = Field(0, description="an undo's: sends of the import not made, cancelled")


class ProblemGroup(BaseModel):
    cause: str
    level: str = Field(description="error (the records failed) or warning (they were applied)")
    count: int
    first_row: int
    message: str
    fix: str | None


class Summary(BaseModel):
    fields: dict[str, FieldCounts]
    problems: list[ProblemGroup]
    messages: list[MessageReach]


class ImportWaits(BaseModel):
    """Why an import that applied nothing yet waits (services.upload.outcomes.waiting)."""

    reason: outcomes.WaitingReason = Field(
        description="earlier_import: the workspace's imports are applied in the order they were"
        " started, and `import_id` (the first of `ahead`) is still running; pull_slots: the"
        " workspace's remote pulls all run (`import_id` is one); not_started: the parser has"
        " not picked it up yet; first_rows: it is being read, its first rows not applied yet"
    )
    import_id: str | None = None
    file_name: str | None = None
    source: str | None = None
    queued_at: When | None = None
    ahead: int = Field(0, description="unfinished imports of the workspace queued before it")


class ImportPublic(BaseModel):
    id: str
    source: str
    kind: str
    status: str
    outcome: outcomes.Outcome | None = Field(
        None,
        description="how it ended (services.upload.outcomes.outcome): completed, or"
        " completed_with_failures when some records failed and others were applied, failed"
        " when every record failed or the import itself failed, cancelled; null while it has"
        " not ended",
    )
    tag: str | None
    counts: UndoCounts | Counts
    progress: float = Field(description="0–1; 1 when completed")
    rows_done: int = Field(0, description="records applied or failed so far")
    rows_total: int | None = Field(
        None, description="records in the source, exact: known once it was read to its end"
    )
    rows_estimate: int | None = Field(
        None, description="about how many records the source holds, while rows_total is unknown"
    )
    rows_not_processed: int | None = Field(
        None,
        description="records never processed: 0 once completed; after a cancel (or a failure)"
        " those of the source after the ones done, or null when it was not read to its end"
        " (rows_estimate then says about how many it holds); null while it runs",
    )
    eta_seconds: float | None = Field(
        None, description="time left at the rate so far (a running import's page only)"
    )
    waiting: ImportWaits | None = Field(
        None, description="why it waits (a queued or starting import's page only)"
    )
    expires_at: When | None = Field(
        None, description="an upload never started is deleted then, file and entry"
    )
    trigger_messages: bool
    created_at: When
    started_at: When | None
    finished_at: When | None
    error: str | None
    file_name: str | None
    file_size: int | None
    columns: list[str] | None
    preview: list[list[str]] | None
    detected: dict[str, Any] | None
    suggested_mapping: dict[str, str] | None
    mapping_source: Literal["suggested", "remembered"] = "suggested"
    fresh_mapping: dict[str, str] | None = Field(
        None, description="the suggestion from the columns alone (what starting fresh offers)"
    )
    remembered: dict[str, Any] | None = Field(
        None, description="the earlier import whose mapping, attributes and options this got"
    )
    column_types: dict[str, str] | None = Field(
        None, description="per column, its type as a new custom attribute (from the preview)"
    )
    rows_per_second: float | None = None
    dry_run: bool = False
    summary: Summary | None = None
    undo_of: str | None = None
    undone_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ImportPublic:
        done = row["created"] + row["updated"] + row["failed"]
        if row["source"] == "undo":
            done = row["deleted"] + row["reverted"] + row["conflicts"]
        total = row["rows_total"]
        status = row["status"]
        far = outcomes.progress(status, done, total, row["rows_estimate"], row["rows_parsed"])
        speed = None
        if row["started_at"] is not None and done:
            end = row["finished_at"] or datetime.now(row["started_at"].tzinfo)
            speed = round(done / max((end - row["started_at"]).total_seconds(), 0.001), 1)
        return cls(
            id=row["id"],
            source=row["source"],
            kind=row["kind"],
            status=status,
            outcome=outcomes.outcome(status, row["created"] + row["updated"], row["failed"]),
            tag=row["tag"],
            counts=_counts(row, total, done),
            progress=round(far.fraction, 4),
            rows_done=far.done,
            rows_total=far.total,
            rows_estimate=far.estimate,
            rows_not_processed=outcomes.not_processed(status, done, total),
            expires_at=outcomes.expires_at(status, row["created_at"]),
            trigger_messages=row["trigger_messages"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            error=row["error"],
            file_name=row["file_name"],
            file_size=row["file_size"],
            columns=row["columns"],
            preview=row["preview"],
            detected=row["detected"],
            suggested_mapping=row["suggested_mapping"],
            mapping_source=row["mapping_source"],
            fresh_mapping=row["fresh_mapping"],
            remembered=row["remembered"],
            column_types=row["column_types"],
            rows_per_second=speed,
            dry_run=row["dry_run"],
            summary=_summary(row),
            undo_of=row["undo_of"],
            undone_by=row["undone_by"],
        )


def _counts(row: Mapping[str, Any], total: int | None, done: int) -> Counts:
    if row["source"] == "undo":
        undone = row["deleted"] + row["reverted"] + row["conflicts"]
        return UndoCounts(
            rows=undone,
            created=0,
            updated=0,
            failed=0,
            unchanged=0,
            warnings=0,
            deleted=row["deleted"],
            reverted=row["reverted"],
            conflicts=row["conflicts"],
        )
    status = row["status"]
    if status in outcomes.ENDED_EARLY:
        rows = done  # what was applied or failed; the rest is not_processed (SPEC §3, cancel)
    else:
        rows = total if total is not None else max(row["rows_parsed"], done)
    return Counts(
        rows=rows,
        created=row["created"],
        updated=row["updated"],
        failed=row["failed"],
        unchanged=row["unchanged"],
        warnings=row["warnings"],
    )


def _summary(row: Mapping[str, Any]) -> Summary | None:
    """The summary of a finished import; a real import's messages are filled in by the caller
    (its deliveries are counted when read: they go on arriving after it ended)."""
    raw = row["summary"]
    if raw is None:
        return None
    return Summary(
        fields=raw.get("fields") or {},
        problems=raw.get("problems") or [],
        messages=raw.get("messages") or [],
    )


class ErrorRow(BaseModel):
    row: int = Field(description="the record's number from 1, the header not counted")
    errors: list[str] = Field(description="empty for a record applied with values left out")
    warnings: list[str] = Field(description="the values left out of the record, and why")
    values: dict[str, Any]


class ErrorCause(BaseModel):
    """One cause of an import's failed records (or of values left out), with example rows."""

    cause: str = Field(description='the field and what is wrong, e.g. "email.invalid"')
    level: Literal["error", "warning"] = Field(
        description="error: its records failed; warning: they were applied without the value"
    )
    rows: int = Field(description="records with this problem (a record may have several)")
    example_rows: list[int] = Field(description="the first rows with it, numbered as `row`")
    example: str | None = Field(description="the problem as the first of those rows has it")
    message: str = Field(description='e.g. "120 emails are not valid"')
    fix: str | None


class DiffEntry(BaseModel):
    row: int
    result: str = Field(description="created, updated, unchanged or failed")
    contact_id: str | None = Field(description="null for a contact a dry run would create")
    matched_by: str | None = Field(description="user_id, email or lead_conversion")
    changes: dict[str, dict[str, Any]]
    errors: list[str]
    warnings: list[str]


# -- people ---------------------------------------------------------------------------------


class ContactPublic(BaseModel):
    id: str
    role: str
    user_id: str | None
    email: str | None
    name: str | None
    phone: str | None
    signed_up_at: When | None
    last_seen_at: When | None
    last_seen_ip: str | None
    created_at: When
    updated_at: When
    tags: list[str]
    custom_attributes: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ContactPublic:
        return cls(
            id=row["id"],
            role=row["role"],
            user_id=row["user_id"],
            email=row["email"],
            name=row["name"],
            phone=row["phone"],
            signed_up_at=row["signed_up_at"],
            last_seen_at=row["last_seen_at"],
            last_seen_ip=row["last_seen_ip"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            tags=list(row["tags"]),
            custom_attributes=row["custom"],
        )


class Upserted(BaseModel):
    contact: ContactPublic
    created: bool


class PeopleCount(BaseModel):
    count: int = Field(description="how many people match the search, exactly")


class FailedRowPublic(BaseModel):
    """A failed row of a CSV import that names a person (by its email or user ID column)."""

    import_id: str
    file_name: str | None
    import_created_at: When
    row: int = Field(description="the record's number in the file, from 1, the header not counted")
    errors: list[str]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FailedRowPublic:
        return cls(
            import_id=row["import_id"],
            file_name=row["file_name"],
            import_created_at=row["import_created_at"],
            row=row["row_no"],
            errors=list(row["errors"]),
        )


class IngestedPublic(BaseModel):
    """One message a compatible API received (SPEC §7) and what became of it."""

    source: str
    message_id: str
    type: str
    outcome: str = Field(description="created, updated, stored (an event), ignored or failed")
    problems: list[str] = Field(description="why it failed, or what was left out of it")
    contact_id: str | None
    received_at: When


class MappingPublic(BaseModel):
    """A remembered mapping (SPEC §6.5): what the last import of a header set started with."""

    id: str
    columns: list[str]
    mapping: dict[str, str]
    custom_attributes: dict[str, str]
    attribute_types: dict[str, str]
    options: dict[str, Any]
    import_id: str
    file_name: str | None
    used_at: When
    created_at: When


class ConflictPublic(BaseModel):
    """A record the identity rules could not place (SPEC §6.4), and the contacts it could be."""

    id: str
    import_id: str
    row: int
    reason: str
    record: dict[str, Any] = Field(description="the record's normalised values")
    candidates: list[ContactPublic]
    status: str = Field(description="open or resolved")
    resolution: dict[str, Any] | None
    created_at: When
    resolved_at: When | None

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], candidates: Mapping[str, Mapping[str, Any]]
    ) -> ConflictPublic:
        return cls(
            id=row["id"],
            import_id=row["import_id"],
            row=row["row_no"],
            reason=row["reason"],
            record=row["record"],
            candidates=[
                ContactPublic.from_row(candidates[c]) for c in row["candidates"] if c in candidates
            ],
            status=row["status"],
            resolution=row["resolution"],
            created_at=row["created_at"],
            resolved_at=row["resolved_at"],
        )


class InboxItem(BaseModel):
    message_id: str
    message_name: str
    subject: str | None
    body: str | None
    delivered_at: When | None
    created_at: When

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> InboxItem:
        return cls(
            message_id=row["message_id"],
            message_name=row["name"],
            subject=row["subject"],
            body=row["body"],
            delivered_at=row["delivered_at"],
            created_at=row["created_at"],
        )


# -- messages -------------------------------------------------------------------------------


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    failed: int
    cancelled: int
    total: int = Field(description="pending + delivered + failed")


class MessagePublic(BaseModel):
    id: str
    name: str
    type: str
    channel: str
    subject: str | None
    body: str | None
    webhook_url: str | None
    audience: dict[str, Any]
    state: str = Field(description="live | paused | archived")
    activated_at: When | None
    created_at: When
    updated_at: When
    version: int = Field(description="1, and one more for each edit of the content")
    status: str = Field(
        description="what it reads as: draft | live | paused | sending | sent | failed | archived"
    )
    status_text: str = Field(description='e.g. "Failed — 5 of 5 deliveries failed"')
    deliveries: DeliveryCounts

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], counts: messaging.Counts | None = None
    ) -> MessagePublic:
        counts = counts or messaging.Counts()
        status, text = messaging.status(row, counts)
        return cls(
            **{name: row[name] for name in _MESSAGE_COLUMNS},
            status=status,
            status_text=text,
            deliveries=DeliveryCounts(
                pending=counts.pending,
                delivered=counts.delivered,
                failed=counts.failed,
                cancelled=counts.cancelled,
                total=counts.total,
            ),
        )


_MESSAGE_COLUMNS = (
    "id, name, type, channel, subject, body, webhook_url, audience, state, activated_at,"
    " created_at, updated_at, version"
).split(", ")


class MessageVersionPublic(BaseModel):
    version: int
    current: bool
    name: str
    subject: str | None
    body: str | None
    webhook_url: str | None
    audience: dict[str, Any]
    made_at: When = Field(description="when this version was saved")
    replaced_at: When | None = Field(description="when the next version took its place")
    delivered: int = Field(description="deliveries made with this version")
    failed: int


class DeliveryPublic(BaseModel):
    contact_id: str
    email: str | None
    user_id: str | None
    status: str
    reason: str | None = Field(description="why it failed, as a sentence")
    created_at: When
    delivered_at: When | None
    attempts: int
    version: int = Field(description="the message version it was (or is to be) sent with")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DeliveryPublic:
        return cls(
            contact_id=row["contact_id"],
            email=row["email"],
            user_id=row["user_id"],
            status=row["status"],
            reason=channels.readable(row["reason"]),
            created_at=row["created_at"],
            delivered_at=row["delivered_at"],
            attempts=row["attempts"],
            version=row["message_version"],
        )


class PreviewPerson(BaseModel):
    id: str
    email: str | None
    name: str | None


class MessagePreview(BaseModel):
    contact: PreviewPerson | None = Field(description="null: as someone with no values")
    subject: str | None
    body: str
    missing: list[str] = Field(
        description="placeholders with no value for this person and no fallback: left empty"
    )


class SendOutcome(BaseModel):
    sent: bool
    detail: str = Field(description="where it went, or why it could not be sent (a sentence)")


class Reach(BaseModel):
    matching: int = Field(description="people who match the audience now")
    already: int = Field(description="of those, people who have had the message")
    reach: int = Field(description="people going live sends it to now")


class Retried(BaseModel):
    requeued: int = Field(description="failed deliveries that will be tried again")


class ChannelPublic(BaseModel):
    channel: str
    available: bool
    problem: str | None = Field(description="why it cannot be chosen now, as a sentence")
    server: str | None = Field(default=None, description="the mail server, for email")


# -- tags, attributes, segments, counts, events, workspaces ---------------------------------


class TagPublic(BaseModel):
    name: str
    created_at: When


class AttributePublic(BaseModel):
    name: str
    type: str


class SegmentPublic(FromRow):
    id: str
    name: str
    filter: dict[str, Any]
    created_at: When


class AudienceCount(BaseModel):
    count: int


class EventPublic(BaseModel):
    model_config = ConfigDict(extra="allow")  # the identifier it was named by: id/user_id/email

    event_name: str
    created_at: When
    metadata: dict[str, Any]


class EventStored(BaseModel):
    status: str = Field(description="stored | duplicate")
    event: EventPublic


class EventCounts(BaseModel):
    received: int
    stored: int
    duplicates: int
    failed: int


class EventFailure(BaseModel):
    index: int
    errors: list[str]


class EventsStored(BaseModel):
    counts: EventCounts
    failures: list[EventFailure]


class WorkspaceCreated(BaseModel):
    id: str
    name: str
    token: str
    webhook_secret: str


class Meta(BaseModel):
    """What the web UI (and any client) needs to know of the product's rules."""

    fields: list[dict[str, Any]]
    mapping_extras: list[dict[str, Any]]
    operators: dict[str, list[str]]
    encodings: list[str]
    delimiters: list[str]
    attribute_name: dict[str, Any]
    max_attributes: int
    attribute_types: list[str]
    countries: list[str] = Field(description="ISO 3166 codes a default_country may be")
    ingestion_days: int = Field(description="days the compatible APIs' messages are listed")
    sources: list[str]


class WorkspacePublic(BaseModel):
    id: str
    name: str


class SessionPublic(BaseModel):
    """Who is signed in; ``csrf_token`` (a cookie session's) goes in ``X-Usher-CSRF`` on every
    request that changes something."""

    workspace: WorkspacePublic
    csrf_token: str | None
    expires_at: When | None
