"""The upload API's rules as pure functions: what an import may be started with, the options
every import shares, and when a message's change sends it. No I/O; unit-tested
(tests/unit/upload/test_rules.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from shared import csvfile, fields, import_store, values
from shared.errors import InvalidValue
from shared.values import fold

MAX_ATTRIBUTES = 250  # custom attributes per workspace (SPEC §2.2)
FILE_SOURCES = import_store.FILE_SOURCES


def tag_problem(tag: str | None) -> str | None:
    """What is wrong with an import's tag (too long, a line break, …), if anything."""
    try:
        values.parse_tag(tag or "")
    except InvalidValue as exc:
        return str(exc)
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
    problems.extend(common_problems(start.tag, start.default_country))
    if start.encoding is not None and start.encoding not in csvfile.ENCODINGS:
        problems.append(f"encoding: use one of {', '.join(csvfile.ENCODINGS)}")
    if start.delimiter is not None and start.delimiter not in csvfile.DELIMITERS:
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
