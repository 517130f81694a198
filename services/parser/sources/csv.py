"""CSV files (``csv``, ``mailchimp_csv``): stream the stored file, validate each row with the
import's mapping, send chunks of ``chunk_rows`` records.

The hot path of the service: per row there is only the CSV reader and the
:class:`~services.parser.rows.RowValidator`; everything else happens per chunk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from services.parser.rows import ImportOptions, RowValidator
from services.parser.sources import UNREADABLE, ImportContext
from shared import values
from shared.csvfile import Detected, Record, iter_records
from shared.errors import FileProblem
from shared.logs import get_logger
from shared.values import fold

log = get_logger(__name__)

TYPE_SAMPLE = 1000  # values of a new attribute read to infer its type
PROGRESS_EVERY = 1  # chunks between progress writes
CHARS_SAMPLE = 500  # records of a chunk whose size stands for all of it (see _chars)


class CsvSource:
    async def run(self, ctx: ImportContext) -> None:
        row = ctx.row
        options_json: dict[str, Any] = row["options"] or {}
        options = ImportOptions.from_json(options_json)
        path = ctx.path()
        detected = Detected(
            encoding=options_json.get("encoding") or row["detected"]["encoding"],
            delimiter=options_json.get("delimiter") or row["detected"]["delimiter"],
        )
        columns: list[str] = row["columns"]
        chunk_rows = int(options_json.get("chunk_rows") or ctx.settings.chunk_rows)
        types = await self._attribute_types(ctx, columns, options, path, detected)
        validator = RowValidator(
            columns,
            dataclasses.replace(
                options,
                custom_attributes={
                    col: types[name][0] for col, name in options.custom_attributes.items()
                },
            ),
            {spelling: type_ for spelling, type_ in types.values()},
        )
        file_size = path.stat().st_size
        records = iter_records(path, detected)
        sender = ctx.sender
        seq = 0
        total = 0
        chars = 0  # of the records read so far: the estimate of all follows the file's size
        while True:
            batch = list(itertools.islice(records, chunk_rows))
            if not batch:
                break
            total += len(batch)
            chars += _chars(batch)
            if seq >= ctx.resume_at:
                await sender.send(ctx.chunk(seq, *_validate(batch, validator)))
            if seq % PROGRESS_EVERY == 0:
                await sender.progress(total, _estimate_rows(total, chars, file_size, detected))
            seq += 1
            await asyncio.sleep(0)
        if total == 0:
            raise FileProblem("the file has a header but no rows: add at least one row to import")
        await sender.finish(ctx.workspace_id, seq, total, ctx.resume_at)

    async def _attribute_types(
        self,
        ctx: ImportContext,
        columns: list[str],
        options: ImportOptions,
        path: Path,
        detected: Detected,
    ) -> dict[str, tuple[str, str]]:
        """Fix the type of each custom attribute: existing ones keep theirs, new ones get the
        type chosen for them or one inferred from the first values of their column."""
        if not options.custom_attributes:
            return {}
        chosen = {fold(n): t for n, t in options.attribute_types.items()}
        position = {name: i for i, name in enumerate(columns)}
        samples: dict[str, list[str]] = {name: [] for name in options.custom_attributes.values()}
        for record in itertools.islice(_good(iter_records(path, detected)), TYPE_SAMPLE * 10):
            for column, name in options.custom_attributes.items():
                cell = record.cells[position[column]].strip()
                if cell and len(samples[name]) < TYPE_SAMPLE:
                    samples[name].append(cell)
            if all(len(s) >= TYPE_SAMPLE for s in samples.values()):
                break
        inferred = {
            name: chosen.get(fold(name)) or values.infer_type(s) for name, s in samples.items()
        }
        return await ctx.register_attributes(inferred)


def _validate(
    batch: list[Record], validator: RowValidator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The batch's records validated: ``(records, failed records)``."""
    readable = [record for record in batch if record.error is None]

    def one(i: int, cells: Sequence[str]) -> tuple[dict[str, Any] | None, list[str]]:
        try:
            return validator(cells)
        except Exception:
            log.exception("a row could not be validated", extra={"row": readable[i].row})
            return None, [UNREADABLE]

    results = iter(validator.batch([record.cells for record in readable], one))
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for record in batch:
        if record.error is not None:
            bad.append({"row": record.row, "errors": [record.error], "cells": record.cells})
            continue
        normalised, errors = next(results)
        if normalised is None:
            bad.append({"row": record.row, "errors": errors, "cells": record.cells})
        else:
            normalised["_row"] = record.row
            good.append(normalised)
    return good, bad


def _good(records: Iterator[Record]) -> Iterator[Record]:
    return (r for r in records if r.error is None)


def _chars(batch: list[Record]) -> int:
    """The characters of the records as the file has them: cells, delimiters, line ends
    (quotes and a CR not counted), counted on the first :data:`CHARS_SAMPLE` records of the
    batch and scaled to all of it — an estimate of an estimate (:func:`_estimate_rows`), and
    counting every record was 3–4 % of the parser's samples under py-spy."""
    sample = batch[:CHARS_SAMPLE]
    if not sample:
        return 0
    counted = sum(map(len, map(",".join, (r.cells for r in sample)))) + len(sample)
    return counted * len(batch) // len(sample)


def _estimate_rows(records: int, chars: int, file_size: int, detected: Detected) -> int | None:
    """Records in the file, estimated from the size of the ``records`` read so far (``chars``
    characters) and the file's size: a little high (the header, quotes and multi-byte
    characters are in the size, not in the characters), and closer as more is read."""
    width = 2 if detected.encoding == "utf-16" else 1
    size = chars * width
    if size == 0:
        return None
    return max(records, round(file_size * records / size))
