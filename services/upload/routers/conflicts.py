"""The conflict queue (SPEC §6.4): records the identity rules could not place (an ambiguous
email), waiting for a person to choose the contact, create a new one, or drop the record."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.upload import repository as repo
from services.upload.deps import CurrentWorkspace, PageByTime, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid, not_found
from services.upload.schemas import ConflictPublic, Page
from shared import changes
from shared.records import parse_dates
from shared.topics import CONTACT_CHANGES

router = APIRouter(prefix="/api/conflicts", tags=["conflicts"])


@router.get("", response_model=Page[ConflictPublic])
async def open_conflicts(
    workspace: CurrentWorkspace, pool: Pool, paging: PageByTime
) -> dict[str, Any]:
    """Open conflicts, oldest first, each with its candidate contacts as they are now."""
    rows = await repo.open_conflicts(pool, workspace.id, paging.after, paging.limit + 1)
    ids = {c for r in rows for c in r["candidates"]}
    candidates = await repo.contacts_by_id(pool, workspace.id, sorted(ids))
    shown = [ConflictPublic.from_row(r, candidates) for r in rows]
    return paging.page(shown, lambda c: (c.created_at, c.id))


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: str | None = Field(None, max_length=100, description="one of the candidates")
    action: Literal["create", "dismiss"] | None = None

    @model_validator(mode="after")
    def one_choice(self) -> Resolution:
        if (self.contact_id is None) == (self.action is None):
            raise ValueError(
                'send either {"contact_id": "<one of the candidates>"} or {"action": "create"}'
                ' or {"action": "dismiss"}'
            )
        return self


@router.post("/{conflict_id}/resolve", response_model=ConflictPublic)
async def resolve(
    conflict_id: str,
    body: Resolution,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
) -> ConflictPublic:
    """Apply the record to the chosen contact, to a new contact, or drop it: an ordinary change
    through the one write path (live messages react to it)."""
    change = None
    async with pool.acquire() as conn, conn.transaction():
        row = await repo.lock_conflict(conn, workspace.id, conflict_id)
        if row is None:
            raise not_found("conflict")
        if row["status"] == "resolved":
            raise ApiError(409, "conflict", "the conflict was resolved already")
        if body.contact_id is not None and body.contact_id not in row["candidates"]:
            raise invalid(
                f"contact_id: {body.contact_id!r} is not one of the conflict's candidates"
                f" ({', '.join(row['candidates'])})"
            )
        resolution: dict[str, Any] = {"action": body.action or "update"}
        if body.action != "dismiss":
            target = body.contact_id  # None: a new contact
            try:
                written = await changes.write_records(
                    conn,
                    workspace.id,
                    [parse_dates(dict(row["record"]))],
                    row["kind"],
                    CONTACT_CHANGES.name(settings),
                    tag=row["tag"],
                    import_id=row["import_id"],
                    placed={0: target},
                )
            except LookupError:
                raise ApiError(
                    409, "conflict", "the chosen contact no longer exists: choose another"
                ) from None
            outcome = written.outcomes[0]
            assert outcome is not None and outcome.contact is not None
            resolution["contact_id"] = outcome.contact.id
            change = written.change
        resolved = await repo.resolve_conflict(conn, conflict_id, resolution)
        candidates = await repo.contacts_by_id(conn, workspace.id, resolved["candidates"])
    await changes.publish(producer, change)
    return ConflictPublic.from_row(resolved, candidates)
