"""Undo (``source: "undo"``, SPEC §6.3): the chunks of an undo are the diff chunks of the import
it takes back, last first — one :class:`~shared.events.UndoChunk` each (ids only: the merger
reads the diff itself). Deterministic, so a restarted parser re-sends only those not applied."""

from __future__ import annotations

from services.parser import repository as repo
from services.parser.sources import ImportContext
from shared.events import UndoChunk


class UndoSource:
    async def run(self, ctx: ImportContext) -> None:
        undo_of = str(ctx.row["undo_of"])
        async with ctx.pool.acquire() as conn:
            chunks = await repo.chunks_to_undo(conn, undo_of)
        total = 0
        for seq, (source_seq, records) in enumerate(chunks):
            total += records
            if seq >= ctx.resume_at:
                await ctx.sender.send(
                    UndoChunk(
                        import_id=ctx.import_id,
                        workspace_id=ctx.workspace_id,
                        undo_of=undo_of,
                        seq=seq,
                        source_seq=source_seq,
                        run=ctx.row["run"],
                    )
                )
        await ctx.sender.finish(ctx.workspace_id, len(chunks), total, ctx.resume_at)
