"""The diff of an import (SPEC §6.1): per record, its result, how it matched, and each field it
changed with the old and new value — for dry runs and real imports alike. For a real import it
is the record of what happened, which undo restores from.

Kept compactly, one ``import_diffs`` row per chunk: the chunk's entries as one orjson array,
zstd-compressed (:func:`pack`: level 1 takes the bench's entries from ~400 bytes of JSON to ~51,
where zlib level 1 kept ~73 at 3× the CPU and PostgreSQL's own TOAST compression ~137), beside
its counts, per-field tallies and problem tallies, so a reader skips chunks without the result
it filters on and the summary is summed without decoding any entry. An entry is ``[row, result,
contact_id, matched_by, changes, errors, warnings]`` with trailing empty members left out;
``result`` is one letter (:data:`CODES`); for an updated contact ``changes`` is ``{field: [old,
new]}`` and for tags the names added; for a created one it is the record it was created from, as
the parser normalised it, and an eighth member holds the tags it got (:func:`changes_of` reads
both alike).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cramjam
import orjson

from shared import problems
from shared.identity import Outcome, created_values

CODES = {"created": "c", "updated": "u", "unchanged": "n", "failed": "f"}
RESULTS = {code: name for name, code in CODES.items()}
PREVIEW_ID_PREFIX = "p_"  # ids of the contacts a dry run would create (they do not exist)
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
SET, CHANGED, CLEARED = 0, 1, 2
_NOT_FIELDS = frozenset(("tags", "custom"))  # tallied apart
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame (older diffs are zlib streams)


@dataclass
class ChunkDiff:
    """One chunk's ``import_diffs`` row."""

    seq: int
    first_row: int = 0
    last_row: int = 0
    created: int = 0
    updated: int = 0  # that changed something
    unchanged: int = 0
    failed: int = 0
    fields: dict[str, list[int]] = field(default_factory=dict)  # field -> [set, changed, cleared]
    problems: dict[str, list[int]] = field(default_factory=dict)  # "e:"/"w:" cause -> [n, row]
    entries: bytes = b"[]"  # the JSON array, before :func:`pack`

    def row(self, import_id: str, packed: bytes) -> tuple[Any, ...]:
        """The ``import_diffs`` row, with the entries as :func:`pack` made them."""
        return (
            import_id,
            self.seq,
            self.first_row,
            self.last_row,
            self.created,
            self.updated,
            self.unchanged,
            self.failed,
            self.fields,
            self.problems,
            packed,
        )


COLUMNS = (
    "import_id",
    "seq",
    "first_row",
    "last_row",
    "created",
    "updated",
    "unchanged",
    "failed",
    "fields",
    "problems",
    "entries",
)


def build(
    seq: int,
    records: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Outcome | None],
    failures: Iterable[Mapping[str, Any]],
    *,
    again: Iterable[int] = (),
) -> ChunkDiff:
    """The diff of one chunk: ``records`` (with ``_row`` and their ``_warnings``) and their
    ``outcomes`` (None or failed: the record is among ``failures``, ``{"row", "errors"}``).
    Rows in ``again`` changed a person an earlier row of the import changed (a dry run knows
    this exactly): they get a warning."""
    diff = ChunkDiff(seq)
    entries: list[list[Any]] = []
    tally = diff.fields
    repeated = set(again)
    # The fields created contacts got, tallied per distinct set of keys after the loop: the
    # records of one file mostly share theirs, and this is the merger's hot path.
    created_keys: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    created_tagged = 0
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome is None or outcome.result == "failed":
            continue
        row = record["_row"]
        contact_id = outcome.contact_id
        if contact_id is not None and contact_id.startswith(PREVIEW_ID_PREFIX):
            contact_id = None
        entry: list[Any]
        if outcome.result == "created":
            # The record itself is the entry's changes (serialised as it is: the hot path).
            diff.created += 1
            tags = outcome.tags
            if tags:
                created_tagged += 1
                entry = [row, "c", contact_id, None, record, None, None, tags]
            else:
                entry = [row, "c", contact_id, None, record]
            created_keys[_set_keys(record)] += 1
        else:
            changes = outcome.changes
            if changes:
                diff.updated += 1
                for key, value in changes.items():
                    if key == "tags":
                        _count(tally, key, SET)
                    else:
                        old, new = value
                        which = SET if old is None else CLEARED if new is None else CHANGED
                        _count(tally, key, which)
                entry = [row, "u", contact_id, outcome.matched_by, changes]
            else:
                diff.unchanged += 1
                entry = [row, "n", contact_id, outcome.matched_by]
        warnings = record.get("_warnings")
        if warnings or row in repeated:
            warnings = list(warnings or ())
            if row in repeated:
                warnings.append(problems.DUPLICATE_WARNING)
            entry.extend([None] * (7 - len(entry)))
            entry[5:7] = [None, warnings]
            _problems(diff.problems, "w:", warnings, row)
        entries.append(entry)
    for (keys, custom_keys), n in created_keys.items():
        for key in keys:
            if key[0] != "_" and key not in _NOT_FIELDS:
                _count(tally, key, SET, n)
        for key in custom_keys:
            _count(tally, "custom." + key, SET, n)
    if created_tagged:
        _count(tally, "tags", SET, created_tagged)
    failed = False
    for failure in failures:
        failed = True
        diff.failed += 1
        errors = list(failure["errors"])
        entries.append([failure["row"], "f", None, None, None, errors])
        _problems(diff.problems, "e:", errors, failure["row"])
    if failed:
        entries.sort(key=lambda e: e[0])
    if entries:
        diff.first_row, diff.last_row = entries[0][0], entries[-1][0]
    diff.entries = orjson.dumps(entries, option=_OPTIONS)
    return diff


def _set_keys(record: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys of ``record`` with a value, and of its custom attributes (the caller leaves out
    those that are not fields: ``_row``, ``tags``, ...)."""
    keys = (
        tuple(record)
        if None not in record.values()
        else tuple(k for k, v in record.items() if v is not None)
    )
    custom = record.get("custom")
    if not custom:
        return keys, ()
    if None not in custom.values():
        return keys, tuple(custom)
    return keys, tuple(k for k, v in custom.items() if v is not None)


def pack(entries: bytes) -> bytes:
    """A chunk's entries as stored: zstd level 1 (cramjam, which releases the GIL: callers may
    run it in a thread) — 3× faster than zlib level 1 on the bench's entries, and smaller."""
    return bytes(cramjam.zstd.compress(entries, level=1))


def _count(tally: dict[str, list[int]], key: str, which: int, n: int = 1) -> None:
    counts = tally.get(key)
    if counts is None:
        counts = tally[key] = [0, 0, 0]
    counts[which] += n


def _problems(tally: dict[str, list[int]], level: str, texts: Iterable[str], row: int) -> None:
    for key in {level + problems.cause(t) for t in texts}:
        counts = tally.get(key)
        if counts is None:
            tally[key] = [1, row]
        else:
            counts[0] += 1


def unpack(packed: bytes) -> list[list[Any]]:
    """A chunk's entries as :func:`pack` stored them, as lists (see the module docstring)."""
    if packed[:4] == _ZSTD_MAGIC:
        raw: list[list[Any]] = orjson.loads(bytes(cramjam.zstd.decompress(packed)))
    else:
        raw = orjson.loads(zlib.decompress(packed))
    return raw


def entries(packed: bytes, result: str | None = None, after_row: int = 0) -> list[dict[str, Any]]:
    """The entries of one chunk as stored (:func:`pack`) as the API shows them, those after
    ``after_row`` (and of ``result``, if given)."""
    code = CODES.get(result) if result is not None else None
    out: list[dict[str, Any]] = []
    for entry in unpack(packed):
        if entry[0] <= after_row or (code is not None and entry[1] != code):
            continue
        out.append(present(entry))
    return out


def changes_of(entry: Sequence[Any]) -> dict[str, Any]:
    """An entry's changes: for a created contact the values it got (``{field: new}``), for an
    updated one ``{field: [old, new]}``; ``tags``: the names added."""
    if entry[1] == "c":
        return created_values(entry[4] or {}, entry[7] if len(entry) > 7 else None)
    return (entry[4] if len(entry) > 4 else None) or {}


def present(entry: Sequence[Any]) -> dict[str, Any]:
    """One stored entry as the API shows it."""
    row, code, contact_id, matched_by, _, errors, warnings = (*entry, *(None,) * 7)[:7]
    changes = changes_of(entry)
    shown: dict[str, Any] = {}
    for key, value in (changes or {}).items():
        if key == "tags":
            shown[key] = {"added": value}
        elif code == "c":
            shown[key] = {"old": None, "new": value}
        else:
            shown[key] = {"old": value[0], "new": value[1]}
    return {
        "row": row,
        "result": RESULTS[code],
        "contact_id": contact_id,
        "matched_by": matched_by,
        "changes": shown,
        "errors": errors or [],
        "warnings": warnings or [],
    }


def field_summary(tallies: Iterable[Mapping[str, Sequence[int]]]) -> dict[str, dict[str, int]]:
    """Per-field tallies of chunks summed: ``{field: {"set", "changed", "cleared"}}``."""
    total: dict[str, list[int]] = {}
    for tally in tallies:
        for key, counts in tally.items():
            into = total.setdefault(key, [0, 0, 0])
            for i in (SET, CHANGED, CLEARED):
                into[i] += counts[i]
    return {
        key: {"set": c[SET], "changed": c[CHANGED], "cleared": c[CLEARED]}
        for key, c in sorted(total.items())
    }


def problem_summary(tallies: Iterable[Mapping[str, Sequence[int]]]) -> list[dict[str, Any]]:
    """Problem tallies of chunks summed and worded (shared.problems.describe)."""
    total: dict[str, tuple[int, int]] = {}
    for tally in tallies:
        for key, (count, row) in tally.items():
            before = total.get(key)
            total[key] = (
                (count, row) if before is None else (before[0] + count, min(before[1], row))
            )
    return problems.describe(total)
