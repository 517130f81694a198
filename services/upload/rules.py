"""The upload API's rules as pure functions: what an import may be started with (including
what its sample of values says about the mapping), the options every import shares, and when a
message's change sends it. No I/O; unit-tested (tests/unit/upload/test_rules.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Final

import phonenumbers

from shared import csvfile, fields, import_store, values
from shared.errors import InvalidValue
from shared.values import fold

MAX_ATTRIBUTES = 250  # custom attributes per workspace (SPEC §2.2)
FILE_SOURCES = import_store.FILE_SOURCES


def tag_problem(tag: str | None) -> str | None:
    """What is wrong with an import's tag (too long, a line break, a comma, …), if anything.
    A comma is refused: in a tags column commas separate tags, so no column could give a
    person the tag "Shopify, VIP" an import-level tag with one would."""
    try:
        values.parse_tag(tag or "")
    except InvalidValue as exc:
        return str(exc)
    if tag and "," in tag:
        return (
            f"tag {tag.strip()!r} has a comma: an import has one tag, and commas separate tags"
            " (as in a tags column); choose one, e.g. "
            f"{tag.split(',')[0].strip() or 'Shopify'!r}"
        )
    return None


def country_problem(country: str | None) -> str | None:
    """What is wrong with a ``default_country``, if anything (it may come in any case)."""
    if country is not None and country.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        return f"default_country: {country!r} is not an ISO 3166 alpha-2 country code"
    return None


@dataclass(frozen=True)
class CommonOptions:
    """The options of every import, normalised: the tag (None when blank) and the country."""

    tag: str | None
    default_country: str | None

    @classmethod
    def of(cls, tag: str | None, country: str | None) -> CommonOptions:
        return cls(
            tag=tag.strip() if tag and tag.strip() else None,
            default_country=country.strip().upper() if country and country.strip() else None,
        )


def common_problems(tag: str | None, country: str | None) -> list[str]:
    return [p for p in (tag_problem(tag), country_problem(country)) if p is not None]


@dataclass(frozen=True)
class Start:
    """A ``start`` body as the rules read it."""

    kind: str
    mapping: Mapping[str, str]
    custom_attributes: Mapping[str, str]
    tag: str | None
    default_country: str | None
    encoding: str | None
    delimiter: str | None
    attribute_types: Mapping[str, str] = dc_field(default_factory=dict)


def start_problems(
    start: Start, columns: Sequence[str], existing: Mapping[str, str], has_rows: bool = True
) -> list[str]:
    """Every problem with starting a CSV import with ``start`` (an empty list: none), given
    the file's ``columns`` and the workspace's ``existing`` attributes."""
    problems: list[str] = []
    if not has_rows:
        problems.append("the file has a header but no rows: add at least one row to import")
    known = set(columns)
    for field, column in start.mapping.items():
        if field not in fields.MAPPING_TARGETS:
            problems.append(
                f"mapping.{field}: unknown field; map columns to {', '.join(fields.MAPPABLE)}"
                " (other columns can be custom_attributes)"
            )
        elif column not in known:
            problems.append(f"mapping.{field}: the file has no column {column!r}")
    if "email" not in start.mapping:
        problems.append("mapping.email is required: choose the column that holds email addresses")
    if "name_last" in start.mapping and "name" not in start.mapping:
        problems.append("mapping.name_last needs mapping.name (the first-name column)")
    if start.kind == "leads" and "user_id" in start.mapping:
        problems.append("mapping.user_id: leads have no user_id; import them as users instead")
    problems.extend(attribute_problems(start.custom_attributes, known, existing))
    problems.extend(type_problems(start.attribute_types, start.custom_attributes, existing))
    problems.extend(common_problems(start.tag, start.default_country))
    problems.extend(reading_problems(start.encoding, start.delimiter))
    return problems


def reading_problems(encoding: str | None, delimiter: str | None) -> list[str]:
    """Problems with reading a file in a chosen ``encoding`` or with a chosen ``delimiter``."""
    problems: list[str] = []
    if encoding is not None and encoding not in csvfile.ENCODINGS:
        problems.append(f"encoding: use one of {', '.join(csvfile.ENCODINGS)}")
    if delimiter is not None and delimiter not in csvfile.DELIMITERS:
        problems.append("delimiter: use one of ',', ';', tab or '|'")
    return problems


def attribute_problems(
    custom: Mapping[str, str], columns: set[str], existing: Mapping[str, str]
) -> list[str]:
    """Problems with naming columns as custom attributes: unknown columns, bad or repeated
    names (case-insensitively), and the workspace's cap."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    lower_existing = {fold(name) for name in existing}
    new_names = 0
    for column, name in custom.items():
        if column not in columns:
            problems.append(f"custom_attributes: the file has no column {column!r}")
        for problem in values.check_attribute_name(name):
            problems.append(f"custom_attributes.{column}: {problem}")
        lower = fold(name)
        if lower in seen:
            problems.append(
                f"custom_attributes.{column}: {name!r} is already used for column {seen[lower]!r}"
                " (names are case-insensitive)"
            )
        seen[lower] = column
        if lower not in lower_existing:
            new_names += 1
    if len(existing) + new_names > MAX_ATTRIBUTES:
        problems.append(
            f"custom_attributes: a workspace has at most {MAX_ATTRIBUTES} custom attributes;"
            f" it has {len(existing)} and this import would add {new_names}"
        )
    return problems


def type_problems(
    types: Mapping[str, str], custom: Mapping[str, str], existing: Mapping[str, str]
) -> list[str]:
    """Problems with choosing the types of new custom attributes (``types``: name -> type):
    a name no column is mapped to, an unknown type, an attribute that exists with another
    type (its type cannot change)."""
    problems: list[str] = []
    named = {fold(n) for n in custom.values()}
    stored = {fold(n): (n, t) for n, t in existing.items()}
    for name, type_ in types.items():
        if fold(name) not in named:
            problems.append(
                f"attribute_types.{name}: no column is mapped to {name!r} in custom_attributes"
            )
        elif type_ not in values.ATTRIBUTE_TYPES:
            problems.append(
                f"attribute_types.{name}: {type_!r} is not a type; use one of"
                f" {', '.join(values.ATTRIBUTE_TYPES)}"
            )
        elif fold(name) in stored and stored[fold(name)][1] != type_:
            have, its = stored[fold(name)]
            problems.append(
                f"attribute_types.{name}: the attribute {have!r} exists as {its}; its type cannot"
                f" change (leave it out of attribute_types, or name a new attribute)"
            )
    return problems


MIN_SAMPLE: Final = 3  # fewer non-blank sample values than this say nothing about a column

# What the values of each field checked against the sample are called in a message.
_SAMPLE_NOUNS: Final = {
    "email": "email addresses",
    "signed_up_at": "dates",
    "phone": "phone numbers",
    "last_seen_at": "dates",
    "last_seen_ip": "IP addresses",
}
_OTHER_ORDER: Final = {"DMY": "MDY", "MDY": "DMY"}
_SLASH_FORM: Final = {"DMY": "DD/MM/YYYY", "MDY": "MM/DD/YYYY"}


def sample_problems(
    mapping: Mapping[str, str],
    columns: Sequence[str],
    preview: Sequence[Sequence[str]],
    *,
    default_country: str | None = None,
    date_order: str = "DMY",
    allow_shared_columns: bool = False,
) -> tuple[list[str], list[str]]:
    """What the upload's first rows say about ``mapping``: ``(problems, warnings)``.

    ``preview`` holds the first rows as cells in the order of ``columns`` (a row may be short:
    its missing cells are blank). Each mapped field with a parser (email, phone, signed_up_at,
    last_seen_at, last_seen_ip) is checked against its column's non-blank sample values,
    parsed as the import will parse them (``default_country``, ``date_order`` "DMY" or "MDY").
    With fewer than MIN_SAMPLE such values nothing is said. When none parses, an email column
    is a problem (the import must not start) and any other column a warning. Values that fail
    only for lack of an option are a warning naming the option: phone numbers without a
    country code when no ``default_country`` is set (even if other values parse), dates that
    parse only in the other ``date_order`` (when none parses in this one). A column mapped to
    two or more fields is a problem unless ``allow_shared_columns``. Fields and columns that
    :func:`start_problems` refuses (unknown ones) are left to it, as is an invalid country (the
    phone column is then not checked).
    """
    problems: list[str] = []
    warnings: list[str] = []
    index = {column: i for i, column in enumerate(columns)}
    country_ok = country_problem(default_country) is None
    for field in _SAMPLE_NOUNS:
        column = mapping.get(field)
        if column not in index or (field == "phone" and not country_ok):
            continue
        i = index[column]
        sample = [row[i] for row in preview if i < len(row) and row[i].strip()]
        if len(sample) < MIN_SAMPLE:
            continue
        message = _sample_message(field, column, sample, default_country, date_order)
        if message is not None:
            (problems if field == "email" else warnings).append(message)
    if not allow_shared_columns:
        problems.extend(_shared_column_problems(mapping))
    return problems, warnings


def _sample_message(
    field: str, column: str, sample: Sequence[str], default_country: str | None, date_order: str
) -> str | None:
    """The sentence about ``column``'s ``sample`` mapped to ``field``, or None if it looks fine."""
    parse: Callable[[str], object]
    if field == "email":
        parse = values.parse_email
    elif field == "phone":
        parse = functools.partial(values.parse_phone, default_country=default_country)
    elif field == "last_seen_ip":
        parse = values.parse_ip
    else:
        parse = functools.partial(values.parse_datetime, date_order=date_order)
    valid = 0
    fixable = 0  # values that an option (the country, the date order) would make valid
    other_order = _OTHER_ORDER.get(date_order)
    for raw in sample:
        try:
            parse(raw)
        except InvalidValue as exc:
            if field == "phone" and values.NO_COUNTRY_CODE in str(exc):
                fixable += 1
            elif field in fields.DATES and other_order and _parses_as_date(raw, other_order):
                fixable += 1
        else:
            valid += 1
    of = f"of {len(sample)} values in {column!r}"
    if field == "phone" and fixable:
        return (
            f"{fixable} {of} have no country code: choose a default country"
            " (set default_country, e.g. GB)"
        )
    if valid:
        return None
    if fixable and other_order is not None:
        return (
            f"0 {of} are {_SLASH_FORM[date_order]} dates but {fixable} look like"
            f" {_SLASH_FORM[other_order]}: set date_order to {other_order}"
        )
    fix = f"map mapping.{field} to the column that holds them"
    if field != "email":
        fix += f" or leave {field} unmapped"
    return f"0 {of} look like {_SAMPLE_NOUNS[field]}: {fix}"


def _parses_as_date(raw: str, date_order: str) -> bool:
    try:
        values.parse_datetime(raw, date_order)
    except InvalidValue:
        return False
    return True


def _shared_column_problems(mapping: Mapping[str, str]) -> list[str]:
    """One problem per column that ``mapping`` gives to more than one (known) field."""
    by_column: dict[str, list[str]] = {}
    for field in fields.MAPPING_TARGETS:
        column = mapping.get(field)
        if column is not None:
            by_column.setdefault(column, []).append(field)
    problems: list[str] = []
    for column, names in by_column.items():
        if len(names) < 2:
            continue
        listed = f"{', '.join(names[:-1])} and {names[-1]}"
        problems.append(
            f"column {column!r} is mapped to {'both ' if len(names) == 2 else ''}{listed}:"
            " map each field to its own column (or send allow_shared_columns: true if that is"
            " meant)"
        )
    return problems


def json_start_problems(start: Start) -> list[str]:
    """A Mixpanel export is mapped automatically (SPEC §3): only the options apply."""
    problems: list[str] = []
    if start.mapping or start.custom_attributes:
        problems.append(
            "a mixpanel_file import is mapped automatically ($email, $name, $created, …; other"
            " properties become custom attributes): leave mapping and custom_attributes out"
        )
    if start.encoding is not None or start.delimiter is not None:
        problems.append("encoding and delimiter apply to CSV files only")
    problems.extend(common_problems(start.tag, start.default_country))
    return problems


def summary(problems: Sequence[str]) -> str:
    """The message of a 422 listing ``problems``: the one problem, or how many there are."""
    return problems[0] if len(problems) == 1 else f"{len(problems)} problems to fix"


def undo_refusal(row: Mapping[str, Any]) -> str | None:
    """Why an import cannot be undone (SPEC §6.3), or None when it can."""
    if row["source"] == "undo":
        return "an undo cannot be undone: import the data again instead"
    if row["api_day"] is not None:
        return (
            "this entry counts what an API received in a day: it keeps no diff to undo;"
            " change those people through the API instead"
        )
    if row["dry_run"]:
        return "a dry run changed nothing: there is nothing to undo"
    if row["undone_by"] is not None:
        return f"the import was undone already (by import {row['undone_by']})"
    if row["status"] not in ("completed", "failed", "cancelled"):
        return f"the import is {row['status']}: it can be undone once it has finished"
    return None


def cancel_refusal(row: Mapping[str, Any]) -> str | None:
    """Why an import cannot be cancelled, or None when it can (queued or processing)."""
    status = row["status"]
    if row["source"] == "undo":
        return "an undo cannot be cancelled: it runs to its end, so the import is taken back whole"
    if row["api_day"] is not None:
        return "this entry counts what an API received in a day: there is no import to cancel"
    if status == "uploaded":
        return (
            "the import was never started, so there is nothing to cancel:"
            " delete the upload instead (DELETE /api/imports/{id})"
        )
    if status in import_store.FINISHED:
        return f"the import is {status} already: only a queued or running import can be cancelled"
    return None


def delete_refusal(row: Mapping[str, Any]) -> str | None:
    """Why an import cannot be deleted, or None when it can: only an upload never started is
    (its file and entry); what a started import did stays in the history."""
    status = row["status"]
    if status == "uploaded":
        return None
    then = (
        "cancel it instead"
        if status in import_store.CANCELLABLE
        else "it stays in the history (undo it to take back what it did)"
    )
    started = f"the import was started (it is {status})"
    return f"{started}: only an upload never started can be deleted; {then}"


# -- messages -------------------------------------------------------------------------------


def activates(message: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Whether applying ``changes`` to ``message`` sends it to everyone who matches now: an
    auto message every time it goes live (and when its audience changes while live); a manual
    message only the first time it goes live."""
    going_live = changes.get("state") == "live" and message["state"] != "live"
    if message["type"] == "manual":
        return going_live and message["activated_at"] is None
    staying_live = changes.get("state", message["state"]) == "live"
    return going_live or (staying_live and changes.get("audience") is not None)
