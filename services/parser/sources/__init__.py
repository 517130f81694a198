"""Where an import's records come from: one module per kind of source.

Every source turns its records into the same chunks (``shared.events.RowChunk``) and end marker,
sent through :class:`~services.parser.sending.ChunkSender`, with chunk boundaries that are the
same on every run, so a restarted parser re-sends only the chunks the merger has not applied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from services.parser import repository as repo
from services.parser.sending import ChunkSender
from shared import people_store
from shared.errors import PoisonMessage
from shared.events import RowChunk
from shared.settings import Settings

HEARTBEAT_S = 10.0  # the parser re-requests imports silent for a minute
# A record whose validation raised (a bug its data trips): it fails alone, the import goes on.
UNREADABLE = "this record could not be read because of an error on our side (logged)"


class SourceFailed(Exception):
    """The import cannot go on (the vendor refused it, the file cannot be read); ``str(e)`` is
    the message the user sees on the failed import."""


@dataclass
class ImportContext:
    """One run of one import: its row, where to resume, and the shared plumbing."""

    settings: Settings
    pool: asyncpg.Pool
    row: asyncpg.Record
    sender: ChunkSender
    resume_at: int  # chunks the merger has applied
    resume_rows: int  # records in those chunks

    @property
    def import_id(self) -> str:
        return str(self.row["id"])

    @property
    def workspace_id(self) -> str:
        return str(self.row["workspace_id"])

    @property
    def options(self) -> Mapping[str, Any]:
        return self.row["options"] or {}

    def path(self) -> Path:
        """The import's file under ``USHER_STORAGE_DIR`` (uploaded, or a remote snapshot)."""
        key = self.row["file_key"]
        if not key or "/" in key or key.startswith("."):
            raise PoisonMessage(f"import {self.import_id} has no valid stored file")
        return Path(self.settings.storage_dir) / str(key)

    async def attribute_types(self) -> dict[str, str]:
        async with self.pool.acquire() as conn:
            return await people_store.attribute_types(conn, self.workspace_id)

    @property
    def dry_run(self) -> bool:
        return bool(self.row["dry_run"])

    async def register_attributes(self, new: Mapping[str, str]) -> dict[str, tuple[str, str]]:
        """Fix the types of attributes first seen in this import (the first type wins): a dry
        run, which writes nothing, only reads which of them exist already."""
        async with self.pool.acquire() as conn:
            if self.dry_run:
                return await people_store.existing_attributes(conn, self.workspace_id, new)
            return await people_store.ensure_attributes(conn, self.workspace_id, new)

    def chunk(
        self,
        seq: int,
        rows: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        kind: str | None = None,
    ) -> RowChunk:
        """Chunk ``seq`` of this run of the import (records of ``kind``, else the import's)."""
        row = self.row
        return RowChunk(
            import_id=row["id"],
            workspace_id=row["workspace_id"],
            seq=seq,
            kind=kind or row["kind"],
            tag=row["tag"],
            trigger_messages=row["trigger_messages"],
            suppress_messages=self.options.get("suppress_messages") or [],
            dry_run=row["dry_run"],
            run=row["run"],
            rows=rows,
            errors=errors,
        )

    async def heartbeat(self) -> None:
        async with self.pool.acquire() as conn:
            await repo.heartbeat(conn, self.import_id)

    async def wait(self, seconds: float) -> None:
        """Sleep (a vendor's back-off), keeping the import's heartbeat fresh meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, HEARTBEAT_S))
            await self.heartbeat()


class Source(Protocol):
    async def run(self, ctx: ImportContext) -> None:
        """Send every chunk from ``ctx.resume_at`` on, then the end marker.

        Raises :class:`SourceFailed` (or ``shared.errors.FileProblem``) to fail the import.
        """
