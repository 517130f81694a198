"""Why records fail or lose a value, grouped by cause, with the fix next to each (SPEC §6.1).

An import's errors and warnings are sentences about one record each ("phone: '020 7946 0958'
has no country calling code: …"). :func:`cause` files each under a cause — the field it is
about and what is wrong — so a dry run can say "101 phone numbers have no country code: choose a
default country" once instead of 101 times. The merger tallies causes per chunk
(``import_diffs.problems``) and :func:`describe` words the totals when they are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared import fields
from shared.values import NO_COUNTRY_CODE

LEFT_OUT = "left out: "  # a warning: the error the value would have been, after this
DUPLICATE = "file.duplicate"
DUPLICATE_WARNING = "this person appears earlier in the file too: this row changes them again"
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_FIELD_PREFIX = re.compile(r"^([a-z_]+): ")
_CUSTOM = re.compile(r"^custom attribute ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")

# cause -> (what n records of that cause are, for n == 1 and n > 1; the fix, or None)
_KNOWN: dict[str, tuple[str, str, str | None]] = {
    "phone.no_country": (
        "phone number has no country code",
        "phone numbers have no country code",
        "choose a default country (default_country), or import those people without their"
        ' phone (invalid_values: "skip_value")',
    ),
    "phone.invalid": (
        "phone number is not valid",
        "phone numbers are not valid",
        "correct them in the file, or import those people without their phone (invalid_values:"
        ' "skip_value")',
    ),
    "email.invalid": (
        "email is not valid",
        "emails are not valid",
        "correct them in the file, or map another column to email",
    ),
    "email.missing": (
        "record has no email",
        "records have no email",
        "map the column that holds email addresses, or add the missing ones to the file",
    ),
    "user_id.invalid": ("user_id is not valid", "user_ids are not valid", None),
    "identity.ambiguous_email": (
        "record matches more than one contact by email",
        "records match more than one contact by email",
        "add a user_id column to say which contact each row is",
    ),
    "identity.no_key": (
        "record has neither a user_id nor an email",
        "records have neither a user_id nor an email",
        "map the column that holds email addresses (or user ids)",
    ),
    "file.cells": (
        "row has the wrong number of cells",
        "rows have the wrong number of cells",
        "check the delimiter and the quoting of those rows",
    ),
    DUPLICATE: (
        "person appears twice in the file",
        "people appear more than once in the file",
        "the later row changes the person again: remove the duplicate rows if that is not meant",
    ),
}
# The fix of a warning: its records were imported already, without the value.
_WARNING_FIXES = {
    "phone.no_country": "choose a default country (default_country) to import those numbers too",
    DUPLICATE: _KNOWN[DUPLICATE][2],
}
EXAMPLE_ROWS = 3  # rows named per cause; the error report has the rest
_WARNING_FIX = "correct those values in the file and import it again to set them"
_OPTIONAL_FIX = (
    "correct them in the file, or import those people without that value (invalid_values:"
    ' "skip_value")'
)


def left_out(error: str) -> str:
    """The warning for a value left out of a record (``invalid_values: "skip_value"``) that
    would otherwise have failed it with ``error``."""
    return LEFT_OUT + error


def cause(text: str) -> str:
    """The cause one error (or warning) sentence is filed under."""
    text = text.removeprefix(LEFT_OUT)
    if text == DUPLICATE_WARNING:
        return DUPLICATE
    if text.startswith("ambiguous email"):
        return "identity.ambiguous_email"
    if text.startswith(("the record has neither", "a contact needs an email", "a lead needs")):
        return "identity.no_key" if "lead" not in text else "email.missing"
    if text.startswith("email is missing") or text == "the email address is blank":
        return "email.missing"
    if "is not a valid email address" in text:
        return "email.invalid"
    if "cells" in text and ("header has" in text or "expected" in text):
        return "file.cells"
    custom = _CUSTOM.match(text)
    if custom is not None:
        return f"custom.{custom.group(1)[1:-1]}.invalid"
    prefix = _FIELD_PREFIX.match(text)
    if prefix is not None and prefix.group(1) in fields.NAMES:
        field = prefix.group(1)
        if field == "phone" and NO_COUNTRY_CODE in text:
            return "phone.no_country"
        return f"{field}.invalid"
    if text.startswith("user_id "):
        return "user_id.invalid"
    return "other." + _QUOTED.sub("…", text)


def describe(tally: Mapping[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """Each cause of ``tally`` (``"e:<cause>"`` for errors, ``"w:<cause>"`` for warnings ->
    (records, first row)) as the summary lists it, the most frequent first."""
    out: list[dict[str, Any]] = []
    for key, (count, first_row) in sorted(tally.items(), key=lambda kv: (-kv[1][0], kv[0])):
        entry = _entry(key, count)
        out.append({**entry, "count": count, "first_row": first_row})
    return out


def _entry(key: str, count: int) -> dict[str, Any]:
    """A cause (``"e:<cause>"``, ``"w:<cause>"``) of ``count`` records, in words: its name,
    level, message and fix — what :func:`describe` and :func:`grouped` both list."""
    level, _, name = key.partition(":")
    one, many, fix = _wording(name)
    if level == "w":
        fix = _WARNING_FIXES.get(name, _WARNING_FIX)
    return {
        "cause": name,
        "level": "warning" if level == "w" else "error",
        "message": f"{count} {one if count == 1 else many}",
        "fix": fix,
    }


def grouped(
    tallies: Iterable[Mapping[str, Sequence[int]]],
    rows: Iterable[tuple[int, Sequence[str], Sequence[str]]],
    read_through: int,
    examples: int = EXAMPLE_ROWS,
) -> list[dict[str, Any]]:
    """An import's problems by cause, with example rows (``GET /api/imports/{id}/errors/summary``).

    ``tallies`` are its chunks' problem tallies in row order (``"e:<cause>"`` or
    ``"w:<cause>"`` -> ``[records, first row]``, as shared.diff keeps them): they give each
    cause's exact count of records (a record with two problems counts under both). ``rows`` are
    the error report's rows ``(row, errors, warnings)`` in row order, up to row ``read_through``
    (the caller may stop reading early): a cause's example rows are its first ``examples`` among
    them, and its example the first sentence filed under it. A cause short of examples there
    gets the first rows of later chunks that have it (of every chunk, for a cause the report's
    rows do not hold). Errors come first, then warnings, each by
    count, most first::

        {"cause": "email.invalid", "level": "error", "rows": 120, "example_rows": [2, 5, 9],
         "example": "email: 'bob@' is not a valid email address …",
         "message": "120 emails are not valid", "fix": "correct them in the file, or …"}
    """
    counts: dict[str, int] = {}
    firsts: dict[str, list[int]] = {}
    for tally in tallies:
        for key, (count, first_row) in tally.items():
            counts[key] = counts.get(key, 0) + count
            firsts.setdefault(key, []).append(first_row)
    found: dict[str, list[int]] = {key: [] for key in counts}
    example: dict[str, str] = {}
    for row, errors, warnings in rows:
        for level, texts in (("e:", errors), ("w:", warnings)):
            for text in texts:
                key = level + cause(text)
                seen = found.get(key)
                if seen is None or (seen and seen[-1] == row) or len(seen) >= examples:
                    continue
                seen.append(row)
                example.setdefault(key, text)
    out: list[dict[str, Any]] = []
    for key, count in counts.items():
        chosen = found[key]
        # Beyond what was read, or a cause the report's rows do not hold (a dry run's
        # "appears twice" is in its diff only): the first row of each chunk that has it.
        unread = read_through if chosen else 0
        for first_row in firsts[key]:
            if len(chosen) >= examples:
                break
            if first_row > unread and first_row not in chosen:
                chosen.append(first_row)
        out.append(
            {
                **_entry(key, count),
                "rows": count,
                "example_rows": chosen,
                "example": example.get(key),
            }
        )
    out.sort(key=lambda g: (g["level"] != "error", -g["rows"], g["cause"]))
    return out


def _wording(key: str) -> tuple[str, str, str | None]:
    known = _KNOWN.get(key)
    if known is not None:
        return known
    if key.startswith("custom.") and key.endswith(".invalid"):
        name = key[len("custom.") : -len(".invalid")]
        one = f"value of custom attribute {name!r} does not fit its type"
        many = f"values of custom attribute {name!r} do not fit its type"
        return one, many, _OPTIONAL_FIX
    if key.endswith(".invalid"):
        field = key[: -len(".invalid")]
        label = fields.BY_NAME[field].label if field in fields.BY_NAME else field
        return f"{label} value is not valid", f"{label} values are not valid", _OPTIONAL_FIX
    text = key.removeprefix("other.")
    return f"record: {text}", f"records: {text}", None
