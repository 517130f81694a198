"""JSON files: ``api`` (the body of ``POST /api/users/bulk``) and ``mixpanel_file`` (a Mixpanel
people export), and the chunk building every JSON source shares.

Records are read in order from the stored file (a JSON array or NDJSON), mapped to JSON contacts
(``services.parser.contacts``) and validated like ``POST /api/users`` bodies. A failed record
keeps its original JSON text as its only cell, for the error report.

Chunks hold ``chunk_rows`` records. For ``api`` a chunk also ends where the records' ``role``
changes, since a chunk is applied as users or as leads; the boundaries depend only on the file,
so they are the same on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from services.parser.contacts import (
    Contact,
    JsonValidator,
    api_contact,
    api_role,
    mixpanel_contact,
)
from services.parser.sources import UNREADABLE, ImportContext
from shared.errors import FileProblem
from shared.events import RowChunk
from shared.jsonfile import JsonRecord, iter_records
from shared.logs import get_logger

log = get_logger(__name__)

Convert = Callable[[Any], tuple[Contact | None, list[str]]]


class JsonFileSource:
    async def run(self, ctx: ImportContext) -> None:
        row = ctx.row
        options = ctx.options
        path = ctx.path()
        api = row["source"] == "api"
        chunk_rows = int(options.get("chunk_rows") or ctx.settings.chunk_rows)
        validator = JsonValidator(
            await ctx.attribute_types(),
            date_order=options.get("date_order") or "DMY",
            default_country=options.get("default_country"),
            invalid_values=options.get("invalid_values") or "fail_record",
        )
        records = iter_records(path, options.get("format"))
        file_size = path.stat().st_size
        counted: int | None = options.get("records")  # the bulk API counted them
        sender = ctx.sender
        seq = 0
        total = 0
        size = 0  # of the records read so far: the estimate of all follows the file's size
        for kind, batch in batches(records, chunk_rows, None if api else row["kind"]):
            total += len(batch)
            size += sum(len(r.original()) + 2 for r in batch)
            if seq >= ctx.resume_at:
                convert: Convert = api_contact if api else _mixpanel(kind)
                await sender.send(await json_chunk(ctx, seq, kind, batch, convert, validator))
            estimate = counted or max(total, round(file_size * total / max(size, 1)))
            await sender.progress(total, estimate)
            seq += 1
            await asyncio.sleep(0)
        if total == 0:
            raise FileProblem("there are no records to import: the JSON array is empty")
        await sender.finish(ctx.workspace_id, seq, total, ctx.resume_at)


def _mixpanel(kind: str) -> Convert:
    return lambda profile: mixpanel_contact(profile, kind)


def batches(
    records: Iterable[JsonRecord], size: int, kind: str | None
) -> Iterator[tuple[str, list[JsonRecord]]]:
    """Records in chunks of ``size``; with ``kind`` None, also split where the role changes."""
    batch: list[JsonRecord] = []
    current = kind or "users"
    for record in records:
        this = kind or ("leads" if api_role(record.value) == "lead" else "users")
        if batch and (len(batch) >= size or this != current):
            yield current, batch
            batch = []
        current = this
        batch.append(record)
    if batch:
        yield current, batch


def _validate(
    records: list[JsonRecord], convert: Convert, validator: JsonValidator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for record in records:
        if record.error is not None:
            bad.append({"row": record.row, "errors": [record.error], "cells": [record.original()]})
            continue
        normalised = None
        try:
            contact, errors = convert(record.value)
            if contact is not None:
                normalised, errors = validator(contact)
        except Exception:
            log.exception("a record could not be validated", extra={"row": record.row})
            normalised, errors = None, [UNREADABLE]
        if normalised is None:
            bad.append({"row": record.row, "errors": errors, "cells": [record.original()]})
        else:
            normalised["_row"] = record.row
            good.append(normalised)
    return good, bad


async def json_chunk(
    ctx: ImportContext,
    seq: int,
    kind: str,
    records: list[JsonRecord],
    convert: Convert,
    validator: JsonValidator,
) -> RowChunk:
    """Validate ``records`` into chunk ``seq``, registering the attributes they create first."""
    good, bad = _validate(records, convert, validator)
    new = validator.take_new()
    if new and validator.settle(await ctx.register_attributes(new)):
        # Another import fixed one of these attributes first (another type or spelling).
        good, bad = _validate(records, convert, validator)
        new = validator.take_new()
        if new:
            validator.settle(await ctx.register_attributes(new))
    return ctx.chunk(seq, good, bad, kind)
