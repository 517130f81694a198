"""Validation of filters (shared.filters.parse): every problem named with its path, and the bounds
on nesting, segment expansion and size."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.errors import InvalidFilter
from shared.filters import MAX_CONDITIONS, MAX_DEPTH, FilterContext, matches, to_sql, validate
from tests.support.filters import NOW
from tests.unit.shared.filters._helpers import CTX, cond, person


def problems(filter_: Any, ctx: FilterContext = CTX) -> str:
    with pytest.raises(InvalidFilter) as info:
        validate(filter_, ctx)
    assert info.value.problems
    assert str(info.value) == "; ".join(info.value.problems)
    return str(info.value)


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ([], r"^filter: a condition must be an object"),
        ({}, r"^filter: a condition must be an object"),
        ({"and": {"field": "tag"}}, r'^filter: "and" takes a list'),
        ({"and": [], "or": []}, r'^filter: "and" must be the only key'),
        ({"not": cond("tag", "exists"), "x": 1}, r'"not" must be the only key'),
        ({"field": "tag", "op": "eq", "valeu": "x"}, r"unknown key\(s\) 'valeu'"),
        ({"op": "eq", "value": "x"}, r'needs "field"'),
        (cond("email", "like", "x"), r"unknown op 'like'"),
        (cond("emial", "eq", "x"), r"unknown field 'emial'"),
        (cond("custom.", "eq", "x"), r"unknown field 'custom\.'"),
        (cond("event: ", "eq", 1), r"event name is blank"),
        (cond("custom.seats", "contains", "1"), r"'contains' does not apply to custom\.seats"),
        (cond("email", "before", "2015-01-01"), r"'before' does not apply to email \(text\)"),
        (cond("email", "gt", "a"), r"'gt' does not apply to email"),
        (cond("custom.vip", "gt", 1), r"'gt' does not apply to custom\.vip \(boolean\)"),
        (cond("tag", "gt", "a"), r"'gt' does not apply to tag"),
        (cond("signed_up_at", "contains", "2015"), r"'contains' does not apply"),
        (cond("signed_up_at", "in", ["2015-01-01"]), r"'in' does not apply"),
        (cond("segment", "contains", "vips"), r"'contains' does not apply to segment"),
        (cond("email", "in", []), r"non-empty list"),
        (cond("email", "in", "a"), r"non-empty list"),
        (cond("email", "in", ["a", 1]), r"needs a text value"),
        (cond("email", "eq", 1), r"needs a text value"),
        (cond("email", "eq", "a\x00b"), r"needs a text value"),
        (cond("custom.seats", "eq", "3"), r"needs a finite number"),
        (cond("custom.seats", "eq", True), r"needs a finite number"),
        (cond("custom.score", "gt", float("nan")), r"needs a finite number"),
        (cond("event:x", "gt", float("inf")), r"needs a finite number"),
        (cond("custom.vip", "eq", "true"), r"needs true or false"),
        ({"field": "email", "op": "exists", "value": "x"}, r"'exists' takes no value"),
        (cond("signed_up_at", "before", "yesterday"), r"needs a date: .*ISO 8601"),
        (cond("signed_up_at", "before", "31/02/2015"), r"not a real calendar date"),
        (cond("signed_up_at", "before", "2015-01-01T10:00 tomorrow"), r"needs a date"),
        (cond("signed_up_at", "before", {"days_ago": -1}), r"days_ago must be between"),
        (cond("signed_up_at", "before", {"days_ago": True}), r'"days_ago": N'),
        (cond("signed_up_at", "before", {"days_ago": 1, "x": 2}), r'"days_ago": N'),
        (cond("signed_up_at", "before", True), r"needs a date"),
        (cond("custom.missing", "in", []), r"custom.missing in needs a non-empty list"),
        (cond("custom.missing", "contains", 5), r"needs a text, got 5 \(the workspace has no"),
        (cond("custom.missing", "exists", "x"), r"takes no value"),
        (cond("segment", "eq", "nope"), r"unknown segment 'nope'"),
        (cond("segment", "eq", 5), r"segment id"),
        (cond("segment", "eq", "self"), r"segment 'self' refers to itself \(self -> self\)"),
        (cond("segment", "ne", "loop_a"), r"refers to itself \(loop_a -> loop_b -> loop_a\)"),
    ],
)
def test_invalid(filter_: Any, expected: str) -> None:
    assert re.search(expected, problems(filter_))


def test_invalid_names_the_path_of_every_problem() -> None:
    message = problems(
        {
            "and": [
                cond("tag", "eq", "ok"),
                {"or": [cond("custom.seats", "contains", "1"), cond("email", "eq", "ok")]},
                {"not": cond("nope", "eq", 1)},
            ]
        }
    )
    assert message.startswith("and[1].or[0]: 'contains' does not apply to custom.seats (integer)")
    assert "; and[2].not: unknown field 'nope'" in message


def test_problems_inside_a_segment_name_it() -> None:
    ctx = FilterContext(
        CTX.attribute_types, {"bad": {"or": [cond("custom.seats", "eq", "x")]}}, NOW
    )
    message = problems({"and": [cond("segment", "eq", "bad")]}, ctx)
    assert message.startswith("and[0].segment[bad].or[0]: custom.seats eq needs a finite number")


def test_matches_and_to_sql_raise_invalid_filter_too() -> None:
    with pytest.raises(InvalidFilter):
        matches(cond("email", "gt", "a"), person(), CTX)
    with pytest.raises(InvalidFilter):
        to_sql(cond("email", "gt", "a"), CTX)


def test_nesting_is_bounded() -> None:
    filter_: dict[str, Any] = cond("tag", "exists")
    for _ in range(MAX_DEPTH + 1):
        filter_ = {"not": filter_}
    assert "nested more than" in problems(filter_)


def test_segment_expansion_is_bounded() -> None:
    # Each segment uses the next one twice: 2**20 conditions once expanded.
    segments: dict[str, Any] = {"s20": cond("tag", "exists")}
    for i in range(20):
        ref = cond("segment", "eq", f"s{i + 1}")
        segments[f"s{i}"] = {"and": [ref, ref]}
    ctx = FilterContext(CTX.attribute_types, segments, NOW)
    assert f"more than {MAX_CONDITIONS} conditions" in problems(cond("segment", "eq", "s0"), ctx)
    # a shared segment used a few times is fine
    validate(cond("segment", "eq", "s15"), ctx)


# -- bounded work: a filter stays small (probe H4) ---------------------------------------------


@pytest.mark.parametrize("field", ["email", "custom.seats", "tag", "custom.unknown"])
def test_in_takes_at_most_a_thousand_values(field: str) -> None:
    values = [f"v{i}" for i in range(1000)] if field != "custom.seats" else list(range(1000))
    validate({"field": field, "op": "in", "value": values}, CTX)
    too_many = [*values, values[0]]
    with pytest.raises(InvalidFilter, match="has 1,001 values; at most 1,000 are allowed"):
        validate({"field": field, "op": "in", "value": too_many}, CTX)


def test_a_filter_is_at_most_256_kib_of_json() -> None:
    big = {"or": [{"field": "name", "op": "eq", "value": "x" * 2000} for _ in range(140)]}
    with pytest.raises(InvalidFilter, match="bytes of JSON; at most 262,144 are allowed"):
        validate(big, CTX)
