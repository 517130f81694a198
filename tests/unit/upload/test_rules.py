"""The upload API's pure rules (services/upload/rules.py): starting an import, the options
every import shares, and when a message's change sends it."""

from __future__ import annotations

from typing import Any

import pytest

from services.upload import rules

COLUMNS = ["Email", "User ID", "Name", "Last", "Plan", "Seats"]


def start(**over: Any) -> rules.Start:
    base: dict[str, Any] = {
        "kind": "users",
        "mapping": {"email": "Email"},
        "custom_attributes": {},
        "tag": None,
        "default_country": None,
        "encoding": None,
        "delimiter": None,
    }
    base.update(over)
    return rules.Start(**base)


def test_a_complete_start_has_no_problem() -> None:
    body = start(
        mapping={"email": "Email", "user_id": "User ID"}, custom_attributes={"Plan": "plan"}
    )
    assert rules.start_problems(body, COLUMNS, {}) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (start(mapping={}), "mapping.email is required"),
        (start(mapping={"email": "Mail"}), "mapping.email: the file has no column 'Mail'"),
        (start(mapping={"email": "Email", "plan": "Plan"}), "mapping.plan: unknown field"),
        (start(mapping={"email": "Email", "name_last": "Last"}), "name_last needs mapping.name"),
        (
            start(kind="leads", mapping={"email": "Email", "user_id": "User ID"}),
            "leads have no user_id",
        ),
        (start(custom_attributes={"Plan": "a.b"}), "contains '.', which is not allowed"),
        (start(custom_attributes={"Plan": "email"}), "is a standard field"),
        (
            start(custom_attributes={"Plan": "Tier", "Seats": "tier"}),
            "'tier' is already used for column 'Plan'",
        ),
        (start(custom_attributes={"Nope": "x"}), "the file has no column 'Nope'"),
        (start(tag="x" * 256), "at most 255 are allowed"),
        (start(tag="VIP\nGold"), "contains a line break"),
        (start(default_country="XX"), "'XX' is not an ISO 3166 alpha-2 country code"),
        (start(encoding="latin-9"), "encoding: use one of utf-8"),
        (start(delimiter=":"), "delimiter: use one of"),
    ],
)
def test_every_problem_is_named(body: rules.Start, problem: str) -> None:
    problems = rules.start_problems(body, COLUMNS, {})
    assert any(problem in p for p in problems), problems


def test_a_header_without_rows_cannot_start() -> None:
    assert rules.start_problems(start(), COLUMNS, {}, has_rows=False) == [
        "the file has a header but no rows: add at least one row to import"
    ]


def test_the_workspace_cap_counts_only_new_names() -> None:
    existing = {f"a{i}": "string" for i in range(249)}
    fine = start(custom_attributes={"Plan": "A0", "Seats": "new one"})  # A0 exists (any case)
    assert rules.start_problems(fine, COLUMNS, existing) == []
    over = start(custom_attributes={"Plan": "new", "Seats": "newer"})
    assert (
        "at most 250 custom attributes; it has 249 and this import would add 2"
        in (rules.start_problems(over, COLUMNS, existing)[0])
    )


def test_every_problem_is_listed_at_once() -> None:
    body = start(mapping={}, tag="x" * 300, default_country="ZZ")
    assert len(rules.start_problems(body, COLUMNS, {})) == 3
    assert rules.summary(["one"]) == "one" and rules.summary(["a", "b"]) == "2 problems to fix"


def test_a_mixpanel_export_takes_options_only() -> None:
    assert rules.json_start_problems(start(mapping={})) == []
    problems = rules.json_start_problems(start(encoding="utf-8", custom_attributes={"a": "b"}))
    assert len(problems) == 2 and "mapped automatically" in problems[0]


def test_common_options_are_normalised() -> None:
    assert rules.CommonOptions.of("  VIP  ", " gb ") == rules.CommonOptions("VIP", "GB")
    assert rules.CommonOptions.of("   ", None) == rules.CommonOptions(None, None)
    assert rules.common_problems("ok", "gb") == []


def message(type_: str, state: str, activated: bool) -> dict[str, Any]:
    return {"type": type_, "state": state, "activated_at": "then" if activated else None}


@pytest.mark.parametrize(
    ("row", "changes", "sends"),
    [
        (message("auto", "paused", False), {"state": "live"}, True),
        (message("auto", "paused", True), {"state": "live"}, True),  # every time it goes live
        (message("auto", "live", True), {"state": "live"}, False),  # already live
        (message("auto", "live", True), {"audience": {"and": []}}, True),  # new audience, live
        (message("auto", "paused", True), {"audience": {"and": []}}, False),
        (message("auto", "live", True), {"name": "x"}, False),
        (message("manual", "paused", False), {"state": "live"}, True),  # the first time only
        (message("manual", "paused", True), {"state": "live"}, False),
        (message("manual", "live", True), {"audience": {"and": []}}, False),
    ],
)
def test_when_a_change_sends_a_message(
    row: dict[str, Any], changes: dict[str, Any], sends: bool
) -> None:
    assert rules.activates(row, changes) is sends
