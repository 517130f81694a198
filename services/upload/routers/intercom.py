"""Intercom's REST API 2.x (SPEC §7) at ``/intercom``: the official SDKs work against Usher with
only their base URL changed (COMPAT §1).

Auth is ``Authorization: Bearer <workspace token>`` (the guard checks it); no version header is
needed; errors have Intercom's ``error.list`` shape (services/upload/errors.py). Every write
goes through the one write path (``shared.changes``) in one transaction under the workspace
lock, so the identity rules, tags, history and live messages are those of every other write:

- ``POST /contacts`` creates and never updates, as Intercom's does: a contact the identity
  rules match is a 409 ``conflict`` "A contact matching those details already exists with
  id=<id>" (migration scripts read the id from it and update that contact);
- ``PUT /contacts/{id}`` writes to that contact: a lead becomes a user with ``role: user``, a
  user never becomes a lead (400), an ``external_id`` or an email another contact has is a 409;
- tags are named by id (``POST /contacts/{id}/tags``, ``DELETE …/tags/{tag_id}``);
- ``POST /events`` answers 202 with no body, 404 for a person nobody is.

Each write is kept in the ingestion log (``GET /api/ingestion``, the Connect page) with its
outcome and problems, and counted in the history's "Intercom API <day>" entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NoReturn

import asyncpg
import orjson
from fastapi import APIRouter, Request, Response

from services.upload import ingestion, intercom
from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, Pool, Producer, Settings
from services.upload.errors import ApiError
from services.upload.event_input import parse_event
from services.upload.event_store import store as store_events
from services.upload.pagination import Cursors
from services.upload.rules import MAX_ATTRIBUTES
from shared import audiences, changes, jsonfile, people_store
from shared.errors import InvalidFilter, InvalidValue
from shared.identity import Kind, Outcome
from shared.ids import new_id
from shared.records import contact_record
from shared.topics import CONTACT_CHANGES
from shared.values import email_key, fold, parse_tag

router = APIRouter(prefix="/intercom", tags=["intercom"])

SOURCE = "intercom"
EXISTS = "A contact matching those details already exists with id={}"  # Intercom's own words
NOT_FOUND = "Contact Not Found"


class _Log:
    """The ingestion log entry of one write call (``call``: create, update, delete, tag,
    untag, merge, event)."""

    def __init__(self, pool: asyncpg.Pool, workspace_id: str, call: str) -> None:
        self.pool, self.workspace_id, self.call = pool, workspace_id, call
        self.warnings: list[str] = []

    async def keep(self, conn: asyncpg.Connection, outcome: str, contact_id: str | None) -> None:
        """In the write's transaction: what the call did."""
        entry = ingestion.Outcome(new_id("icr_"), self.call, outcome, self.warnings, contact_id)
        await ingestion.record(conn, self.workspace_id, SOURCE, [entry])

    async def refuse(self, status: int, code: str, message: str) -> ApiError:
        """The call failed (its transaction, if any, rolled back): keep that, return the error."""
        entry = ingestion.Outcome(new_id("icr_"), self.call, "failed", [message, *self.warnings])
        async with self.pool.acquire() as conn, conn.transaction():
            await ingestion.record(conn, self.workspace_id, SOURCE, [entry])
        return ApiError(status, code, message)


async def _body(request: Request) -> Any:
    raw = await request.body()  # the guard bounded its size
    if not raw.strip():
        return {}
    try:
        return jsonfile.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "parameter_invalid", f"the body is not valid JSON: {exc}") from None


async def _contacts(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, rows: list[Any]
) -> list[Any]:
    """Contact rows as Intercom's contact objects (two queries for a page of them)."""
    tags = await repo.tags_named(conn, workspace_id, [t for r in rows for t in r["tags"]])
    types = await people_store.attribute_types(conn, workspace_id)
    ids = {name: tag["id"] for name, tag in tags.items()}
    return [intercom.contact_object(row, workspace_id, ids, types) for row in rows]


async def _contact(conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, row: Any) -> Any:
    return (await _contacts(conn, workspace_id, [row]))[0]


async def _found(
    conn: asyncpg.Connection | asyncpg.Pool, workspace_id: str, contact_id: str
) -> Any:
    row = await repo.get_contact(conn, workspace_id, contact_id)
    if row is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    return row


def _refusal(outcome: Outcome | None) -> tuple[int, str, str] | None:
    """Why the engine did not apply a record, as Intercom answers it (None: it did)."""
    if outcome is not None and outcome.result != "failed" and outcome.contact is not None:
        return None
    if outcome is not None and len(outcome.candidates) == 1:
        return 409, "conflict", EXISTS.format(outcome.candidates[0])
    reasons = "; ".join(outcome.errors) if outcome is not None else "the contact was not written"
    return 409, "conflict", reasons


async def _write_contact(
    request: Request,
    conn: asyncpg.Connection,
    workspace_id: str,
    read: intercom.ContactInput,
    kind: Kind,
    *,
    contact_id: str | None = None,
    untag: list[str] | None = None,
) -> tuple[Outcome, changes.Change | None]:
    """Validate ``read`` and write it (to ``contact_id``, else as a new contact; ``untag``:
    tag names to take off) in the caller's transaction; :class:`_Refused` when it cannot be."""
    types = await people_store.attribute_types(conn, workspace_id)
    record, errors, new = contact_record(read.contact, types, needs_identifier=contact_id is None)
    errors = read.errors + errors
    if record is None or errors:
        raise _Refused(400, "parameter_invalid", "; ".join(errors))
    if untag:
        record["untag"] = untag
    if len(types) + len(new) > MAX_ATTRIBUTES:
        raise _Refused(
            400, "parameter_invalid", f"a workspace has at most {MAX_ATTRIBUTES} custom attributes"
        )
    topic = CONTACT_CHANGES.name(request.app.state.settings)
    try:
        written = await changes.write_records(
            conn,
            workspace_id,
            [record],
            kind,
            topic,
            new_attributes=new,
            placed={0: contact_id} if contact_id is not None else None,
            create_only=contact_id is None,
        )
    except changes.Exists as exc:
        raise _Refused(409, "conflict", EXISTS.format(exc.contact_id)) from None
    outcome = written.outcomes[0]
    refusal = _refusal(outcome)
    if refusal is not None:
        raise _Refused(*refusal)
    assert outcome is not None
    return outcome, written.change


class _Refused(Exception):
    """A write refused inside its transaction: raised through it (rolling it back), then
    logged and answered by the route."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# -- contacts -----------------------------------------------------------------------------


@router.post("/contacts")
async def create_contact(
    request: Request, workspace: CurrentWorkspace, pool: Pool, producer: Producer
) -> Any:
    """Create a user (the default) or a lead; 409 when the identity rules find one."""
    log = _Log(pool, workspace.id, "create")
    read = intercom.contact_input(await _body(request))
    log.warnings = read.warnings
    role = read.role or "user"
    if role == "lead" and "user_id" in read.contact:
        read.errors.append("a lead has no external_id: create a user (role 'user') with it")
    if role == "lead" and not read.contact.get("email"):
        read.errors.append("Usher needs an email address for a lead")
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                kind: Kind = "leads" if role == "lead" else "users"
                outcome, change = await _write_contact(request, conn, workspace.id, read, kind)
                assert outcome.contact is not None
                await log.keep(conn, "created", outcome.contact.id)
            answer = await _contact(
                conn, workspace.id, await _found(conn, workspace.id, outcome.contact.id)
            )
    except _Refused as exc:
        raise await log.refuse(exc.status, exc.code, exc.message) from None
    await changes.publish(producer, change)
    return answer


@router.get("/contacts")
async def list_contacts(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    per_page: str | None = None,
    starting_after: str | None = None,
) -> Any:
    """Every contact, newest first, ``per_page`` at a time from ``starting_after``."""
    return await _page(request, pool, workspace.id, {"and": []}, per_page, starting_after)


@router.post("/contacts/search")
async def search_contacts(request: Request, workspace: CurrentWorkspace, pool: Pool) -> Any:
    """Contacts matching ``query``; ``pagination`` (``per_page``, ``starting_after``) is read
    from the body, where Intercom reads it."""
    body = await _body(request)
    if not isinstance(body, dict) or "query" not in body:
        raise ApiError(
            400, "parameter_invalid", "a search is {'query': {...}, 'pagination': {...}}"
        )
    pagination = body.get("pagination") or {}
    if not isinstance(pagination, dict):
        raise ApiError(400, "parameter_invalid", "pagination must be an object")
    query = body["query"]
    tag_names = await repo.tags_by_id(pool, workspace.id, sorted(intercom.tag_ids_in(query)))
    types = await people_store.attribute_types(pool, workspace.id)
    try:
        filter_ = intercom.search_filter(query, types, tag_names)
    except intercom.SearchError as exc:
        raise ApiError(400, "parameter_invalid", str(exc)) from None
    return await _page(
        request,
        pool,
        workspace.id,
        filter_,
        pagination.get("per_page"),
        pagination.get("starting_after"),
    )


async def _page(
    request: Request,
    pool: asyncpg.Pool,
    workspace_id: str,
    filter_: Any,
    per_page_raw: Any,
    starting_after: Any,
) -> Any:
    try:
        size = intercom.per_page(per_page_raw)
    except InvalidValue as exc:
        raise ApiError(400, "parameter_invalid", str(exc)) from None
    cursors: Cursors = request.app.state.cursors
    page, after = 1, None
    if starting_after is not None:
        page, after = _cursor(cursors, starting_after)
    ctx = await audiences.filter_context(pool, workspace_id, datetime.now(UTC))
    try:
        rows = await repo.find_contacts(
            pool, workspace_id, before_id=after, limit=size + 1, audience=(filter_, ctx)
        )
    except InvalidFilter as exc:
        raise ApiError(400, "parameter_invalid", "; ".join(exc.problems)) from None
    total = await repo.count_matching(pool, workspace_id, filter_, ctx)
    more = len(rows) > size
    rows = rows[:size]
    data = await _contacts(pool, workspace_id, rows)
    following = cursors.encode(f"{page + 1}:{rows[-1]['id']}") if more else None
    return intercom.list_object(data, total, size, page, following)


def _cursor(cursors: Cursors, raw: Any) -> tuple[int, str]:
    """The number of the page a ``starting_after`` starts, and the last contact id before it."""
    try:
        number, _, last = cursors.decode(str(raw), "text").partition(":")
        return int(number), last
    except (ApiError, ValueError):
        raise ApiError(
            400,
            "parameter_invalid",
            "starting_after is not valid: pass pages.next.starting_after of the previous page",
        ) from None


@router.get("/contacts/find_by_external_id/{external_id:path}")
async def find_by_external_id(external_id: str, workspace: CurrentWorkspace, pool: Pool) -> Any:
    """The user with this ``external_id`` (slashes and all: the SDK does not encode them)."""
    rows = await repo.find_contacts(pool, workspace.id, user_id=external_id, role="user", limit=1)
    if not rows:
        raise ApiError(404, "not_found", NOT_FOUND)
    return await _contact(pool, workspace.id, rows[0])


@router.post("/contacts/merge")
async def merge_contacts(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> Any:
    """Merge ``from`` (a lead, or a user without external_id) into ``into`` (SPEC §6.4)."""
    log = _Log(pool, workspace.id, "merge")
    body = await _body(request)
    from_id = body.get("from") if isinstance(body, dict) else None
    into_id = body.get("into") if isinstance(body, dict) else None
    if not isinstance(from_id, str) or not isinstance(into_id, str):
        raise await log.refuse(
            400, "parameter_invalid", "a merge is {'from': <lead id>, 'into': <user id>}"
        )
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                try:
                    merged, change = await changes.merge(
                        conn, workspace.id, from_id, into_id, CONTACT_CHANGES.name(settings)
                    )
                except LookupError:
                    raise _Refused(404, "not_found", NOT_FOUND) from None
                except ValueError as exc:
                    raise _Refused(400, "parameter_invalid", str(exc)) from None
                await log.keep(conn, "updated", merged.id)
            answer = await _contact(conn, workspace.id, await _found(conn, workspace.id, merged.id))
    except _Refused as exc:
        raise await log.refuse(exc.status, exc.code, exc.message) from None
    await changes.publish(producer, change)
    return answer


@router.get("/contacts/{contact_id}")
async def get_contact(contact_id: str, workspace: CurrentWorkspace, pool: Pool) -> Any:
    return await _contact(pool, workspace.id, await _found(pool, workspace.id, contact_id))


@router.put("/contacts/{contact_id}")
async def update_contact(
    contact_id: str, request: Request, workspace: CurrentWorkspace, pool: Pool, producer: Producer
) -> Any:
    """Change the contact's fields; ``role: user`` makes a lead a user."""
    log = _Log(pool, workspace.id, "update")
    read = intercom.contact_input(await _body(request))
    log.warnings = read.warnings
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await changes.lock(conn, workspace.id)
                row = await repo.get_contact(conn, workspace.id, contact_id)
                if row is None:
                    raise _Refused(404, "not_found", NOT_FOUND)
                if row["role"] == "user" and read.role == "lead":
                    raise _Refused(
                        400, "client_error", "Contact with user role can't be converted to a lead"
                    )
                kind: Kind = "users" if "user" in (row["role"], read.role) else "leads"
                if kind == "leads" and "user_id" in read.contact:
                    raise _Refused(
                        400,
                        "parameter_invalid",
                        "a lead has no external_id: send role 'user' with it to make the lead"
                        " a user",
                    )
                _, change = await _write_contact(
                    request, conn, workspace.id, read, kind, contact_id=contact_id
                )
                await log.keep(conn, "updated", contact_id)
            answer = await _contact(
                conn, workspace.id, await _found(conn, workspace.id, contact_id)
            )
    except _Refused as exc:
        raise await log.refuse(exc.status, exc.code, exc.message) from None
    await changes.publish(producer, change)
    return answer


@router.delete("/contacts/{contact_id}")
async def delete_contact(contact_id: str, workspace: CurrentWorkspace, pool: Pool) -> Any:
    """Delete the contact, with its events and deliveries; 200 with a JSON body (the SDK
    refuses a 204)."""
    log = _Log(pool, workspace.id, "delete")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await changes.lock(conn, workspace.id)
            row = await repo.get_contact(conn, workspace.id, contact_id)
            if row is None:
                raise _Refused(404, "not_found", NOT_FOUND)
            await changes.delete(conn, workspace.id, [contact_id])
            await log.keep(conn, "deleted", contact_id)
    except _Refused as exc:
        raise await log.refuse(exc.status, exc.code, exc.message) from None
    return {"type": "contact", "id": contact_id, "external_id": row["user_id"], "deleted": True}


# -- tags ---------------------------------------------------------------------------------


@router.get("/tags")
async def list_tags(workspace: CurrentWorkspace, pool: Pool) -> Any:
    rows = await repo.list_tags(pool, workspace.id, None, 10_000)
    return {"type": "list", "data": [intercom.tag_object(r["id"], r["name"]) for r in rows]}


@router.post("/tags")
async def create_tag(
    request: Request, workspace: CurrentWorkspace, pool: Pool, producer: Producer
) -> Any:
    """Create a tag (or find it: the first spelling wins); with ``users``
    (``[{"id"}, {"id", "untag": true}]``) tag or untag those contacts too."""
    body = await _body(request)
    raw = body.get("name") if isinstance(body, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "parameter_invalid", "a tag needs a name: {'name': 'vip'}")
    try:
        name = parse_tag(raw)
    except InvalidValue as exc:
        raise ApiError(400, "parameter_invalid", str(exc)) from None
    users = body.get("users") or []
    if not isinstance(users, list) or not all(
        isinstance(u, dict) and isinstance(u.get("id"), str) for u in users
    ):
        raise ApiError(400, "parameter_invalid", "users must be a list of {'id': <contact id>}")
    async with pool.acquire() as conn:
        async with conn.transaction():
            await changes.lock(conn, workspace.id)
            await people_store.save_tags(conn, workspace.id, [name])
        tag = (await repo.tags_named(conn, workspace.id, [name]))[fold(name)]
    for user in users:
        await _tag_contact(
            request, pool, producer, workspace.id, user["id"], tag, untag=user.get("untag") is True
        )
    return intercom.tag_object(tag["id"], tag["name"])


@router.get("/contacts/{contact_id}/tags")
async def contact_tags(contact_id: str, workspace: CurrentWorkspace, pool: Pool) -> Any:
    row = await _found(pool, workspace.id, contact_id)
    tags = await repo.tags_named(pool, workspace.id, list(row["tags"]))
    data = [intercom.tag_object(tags[fold(n)]["id"], n) for n in row["tags"] if fold(n) in tags]
    return {"type": "list", "data": data}


@router.post("/contacts/{contact_id}/tags")
async def tag_contact(
    contact_id: str, request: Request, workspace: CurrentWorkspace, pool: Pool, producer: Producer
) -> Any:
    body = await _body(request)
    tag_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(tag_id, str | int) or isinstance(tag_id, bool):
        raise ApiError(400, "parameter_invalid", "say which tag: {'id': <tag id>}")
    tag = await _tag(pool, workspace.id, str(tag_id))
    await _tag_contact(request, pool, producer, workspace.id, contact_id, tag, untag=False)
    return intercom.tag_object(tag["id"], tag["name"])


@router.delete("/contacts/{contact_id}/tags/{tag_id}")
async def untag_contact(
    contact_id: str,
    tag_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
) -> Any:
    tag = await _tag(pool, workspace.id, tag_id)
    await _tag_contact(request, pool, producer, workspace.id, contact_id, tag, untag=True)
    return intercom.tag_object(tag["id"], tag["name"])


async def _tag(pool: asyncpg.Pool, workspace_id: str, tag_id: str) -> dict[str, Any]:
    names = await repo.tags_by_id(pool, workspace_id, [tag_id])
    if tag_id not in names:
        raise ApiError(404, "not_found", "Tag Not Found")
    return {"id": tag_id, "name": names[tag_id]}


async def _tag_contact(
    request: Request,
    pool: asyncpg.Pool,
    producer: Any,
    workspace_id: str,
    contact_id: str,
    tag: Any,
    *,
    untag: bool,
) -> None:
    """Add the tag to the contact (or take it off), through the one write path."""
    log = _Log(pool, workspace_id, "untag" if untag else "tag")
    read = intercom.ContactInput({}, None)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await changes.lock(conn, workspace_id)
            row = await repo.get_contact(conn, workspace_id, contact_id)
            if row is None:
                raise _Refused(404, "not_found", NOT_FOUND)
            kind: Kind = "users" if row["role"] == "user" else "leads"
            read.contact = {} if untag else {"tags": [tag["name"]]}
            _, change = await _write_contact(
                request,
                conn,
                workspace_id,
                read,
                kind,
                contact_id=contact_id,
                untag=[tag["name"]] if untag else None,
            )
            await log.keep(conn, "updated", contact_id)
    except _Refused as exc:
        raise await log.refuse(exc.status, exc.code, exc.message) from None
    await changes.publish(producer, change)


# -- events -------------------------------------------------------------------------------


@router.post("/events")
async def create_event(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> Response:
    """Store an event → 202 with no body (Intercom's answer); 404 for an unknown person. The
    same (person, name, created_at) twice is stored once, and answered 202 both times."""
    log = _Log(pool, workspace.id, "event")
    body, log.warnings = intercom.event_body(await _body(request))
    event, errors = parse_event(body)
    if event is None:
        raise await log.refuse(400, "parameter_invalid", "; ".join(errors))
    topic = CONTACT_CHANGES.name(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            stored, change = await store_events(conn, workspace.id, topic, [(0, event)], True)
            if stored.missing:
                raise _Refused(404, "not_found", "User Not Found")
            if stored.ambiguous:
                raise _Refused(409, "conflict", stored.failures[0]["errors"][0])
            await log.keep(conn, "stored", None)
    except _Refused as exc:
        raise await log.refuse(exc.status, exc.code, exc.message) from None
    await changes.publish(producer, change)
    return Response(status_code=202)


@router.get("/events")
async def list_events(
    request: Request,
    workspace: CurrentWorkspace,
    pool: Pool,
    user_id: str | None = None,
    email: str | None = None,
    intercom_user_id: str | None = None,
    summary: bool = False,
    per_page: str | None = None,
) -> Any:
    """A person's events (``type=user`` and one of ``user_id``, ``email``,
    ``intercom_user_id``), newest first; ``summary=true`` counts them by name."""
    if not (user_id or email or intercom_user_id):
        raise ApiError(
            400, "parameter_invalid", "say whose events: user_id, email or intercom_user_id"
        )
    people = await repo.find_people(
        pool,
        workspace.id,
        [intercom_user_id] if intercom_user_id else [],
        [user_id] if user_id else [],
        [email_key(email)] if email else [],
    )
    if len(people) != 1:
        if people:
            raise ApiError(
                409, "conflict", f"{len(people)} contacts match: name one by intercom_user_id"
            )
        raise ApiError(404, "not_found", "User Not Found")
    contact_id = people[0]["id"]
    if summary:
        rows = await repo.event_summary(pool, contact_id)
        events = [
            {
                "name": r["name"],
                "first": r["first"].isoformat(),
                "last": r["last"].isoformat(),
                "count": r["count"],
            }
            for r in rows
        ]
        return {"type": "event.summary", "email": email, "user_id": user_id, "events": events}
    try:
        size = intercom.per_page(per_page)
    except InvalidValue as exc:
        raise ApiError(400, "parameter_invalid", str(exc)) from None
    rows = await repo.person_events(pool, contact_id, None, size)
    events = [
        {
            "type": "event",
            "event_name": r["name"],
            "created_at": intercom.unix(r["created_at"]),
            "user_id": people[0]["user_id"],
            "intercom_user_id": contact_id,
            "metadata": r["metadata"],
        }
        for r in rows
    ]
    return {"type": "event.list", "events": events, "pages": {"type": "pages", "per_page": size}}


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    response_model=None,
)
async def unknown(rest: str, request: Request) -> NoReturn:
    raise ApiError(
        404,
        "not_found",
        f"Usher's Intercom-compatible API has no {request.method} /{rest}: it offers contacts"
        " (create, get, update, delete, search, merge, find_by_external_id), tags and events",
    )
