"""Why records fail or lose a value, grouped by cause, with the fix next to each (SPEC §6.1).

An import's errors and warnings are sentences about one record each ("phone: '020 7946 0958'
has no country calling code: …"). :func:`cause` files each under a cause — the field it is
about and what is wrong — so a dry run can say "101 phone numbers have no country code: choose a
default country" once instead of 101 times. The merger tallies causes per chunk
(``import_diffs.problems``) and :func:`describe` words the totals when they are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
        level, _, name = key.partition(":")
        one, many, fix = _wording(name)
        if level == "w":
            fix = _WARNING_FIXES.get(name, _WARNING_FIX)
        out.append(
            {
                "cause": name,
                "level": "warning" if level == "w" else "error",
                "count": count,
                "first_row": first_row,
                "message": f"{count} {one if count == 1 else many}",
                "fix": fix,
            }
        )
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
