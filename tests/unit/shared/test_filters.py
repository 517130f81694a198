"""The filter language in memory (shared.filters): operator tables, validation, SQL safety.

Agreement between `matches` and `to_sql` is checked on PostgreSQL by
tests/integration/test_filter_property.py; these tests pin the semantics themselves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from shared.errors import InvalidFilter
from shared.filters import (
    CASE_COLLATION,
    MAX_CONDITIONS,
    MAX_DEPTH,
    FilterContext,
    compile_filter,
    fold,
    matches,
    to_sql,
    validate,
)

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
MIDNIGHT_2015 = datetime(2015, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)

CTX = FilterContext(
    attribute_types={
        "plan": "string",
        "seats": "integer",
        "score": "float",
        "vip": "boolean",
        "renewal": "date",
    },
    segments={
        "vips": {"field": "tag", "op": "eq", "value": "vip"},
        "pro_vips": {
            "and": [
                {"field": "segment", "op": "eq", "value": "vips"},
                {"field": "custom.plan", "op": "eq", "value": "pro"},
            ]
        },
        "loop_a": {"field": "segment", "op": "eq", "value": "loop_b"},
        "loop_b": {"not": {"field": "segment", "op": "ne", "value": "loop_a"}},
        "self": {"or": [{"field": "segment", "op": "eq", "value": "self"}]},
    },
    now=NOW,
)


def person(**fields: Any) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "id": "p1",
        "role": "user",
        "user_id": None,
        "email": None,
        "name": None,
        "phone": None,
        "signed_up_at": None,
        "last_seen_at": None,
        "last_seen_ip": None,
        "created_at": NOW,
        "updated_at": NOW,
        "tags": [],
        "custom": {},
        "events": {},
    }
    contact.update(fields)
    return contact


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return (
        {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
    )


# (field, op, value, contact fields, expected)
CASES: list[tuple[str, str, Any, dict[str, Any], bool]] = [
    # text: case-insensitive, missing values
    ("email", "eq", "ann@EXAMPLE.com", {"email": "Ann@Example.com"}, True),
    ("email", "eq", "bob@example.com", {"email": "Ann@Example.com"}, False),
    ("email", "eq", "ann@example.com", {}, False),
    ("email", "ne", "ANN@example.com", {"email": "ann@example.com"}, False),
    ("email", "ne", "bob@example.com", {"email": "ann@example.com"}, True),
    ("email", "ne", "bob@example.com", {}, True),
    ("email", "contains", "EXAMPLE", {"email": "ann@example.com"}, True),
    ("email", "contains", "example", {}, False),
    ("email", "starts_with", "ANN", {"email": "ann@example.com"}, True),
    ("email", "starts_with", "example", {"email": "ann@example.com"}, False),
    ("email", "ends_with", ".COM", {"email": "ann@example.com"}, True),
    ("email", "ends_with", "ann", {"email": "ann@example.com"}, False),
    ("email", "in", ["x@y.z", "ANN@example.com"], {"email": "ann@example.com"}, True),
    ("email", "in", ["x@y.z"], {"email": "ann@example.com"}, False),
    ("email", "in", ["x@y.z"], {}, False),
    ("email", "exists", None, {"email": "ann@example.com"}, True),
    ("email", "exists", None, {}, False),
    ("email", "not_exists", None, {}, True),
    ("email", "not_exists", None, {"email": "ann@example.com"}, False),
    ("name", "exists", None, {"name": ""}, True),
    ("name", "contains", "", {"name": "Ann"}, True),
    ("role", "eq", "USER", {}, True),
    ("id", "in", ["P1", "p2"], {}, True),
    # LIKE wildcards are plain characters
    ("name", "contains", "%", {"name": "100% sure"}, True),
    ("name", "contains", "%", {"name": "abc"}, False),
    ("name", "contains", "_", {"name": "abc"}, False),
    ("name", "starts_with", "a_", {"name": "abc"}, False),
    ("name", "ends_with", "\\", {"name": "abc"}, False),
    ("name", "ends_with", "\\", {"name": "ab\\"}, True),
    ("name", "eq", "o'neil", {"name": "O'Neil"}, True),
    # Unicode: lower-cased code point by code point, like PostgreSQL's lower()
    ("name", "eq", "josé", {"name": "JOSÉ"}, True),
    ("name", "eq", "σασ", {"name": "ΣΑΣ"}, True),
    ("name", "eq", "σας", {"name": "ΣΑΣ"}, False),
    ("name", "starts_with", "is", {"name": "İstanbul"}, True),
    ("name", "eq", "straße", {"name": "STRASSE"}, False),
    # tags
    ("tag", "eq", "vip", {"tags": ["VIP", "beta"]}, True),
    ("tag", "eq", "vi", {"tags": ["VIP"]}, False),
    ("tag", "ne", "vip", {"tags": ["VIP"]}, False),
    ("tag", "ne", "vip", {"tags": ["beta"]}, True),
    ("tag", "ne", "vip", {}, True),
    ("tag", "contains", "SIGN", {"tags": ["New Sign-Ups 2015"]}, True),
    ("tag", "starts_with", "new", {"tags": ["beta", "New Sign-Ups 2015"]}, True),
    ("tag", "ends_with", "2016", {"tags": ["New Sign-Ups 2015"]}, False),
    ("tag", "in", ["a", "BETA"], {"tags": ["beta"]}, True),
    ("tag", "in", ["a", "b"], {"tags": ["beta"]}, False),
    ("tag", "exists", None, {"tags": ["beta"]}, True),
    ("tag", "exists", None, {"tags": []}, False),
    ("tag", "not_exists", None, {"tags": []}, True),
    ("tag", "not_exists", None, {"tags": ["beta"]}, False),
    # numbers
    ("custom.seats", "eq", 3, {"custom": {"seats": 3}}, True),
    ("custom.seats", "eq", 3.0, {"custom": {"seats": 3}}, True),
    ("custom.seats", "ne", 4, {"custom": {"seats": 3}}, True),
    ("custom.seats", "ne", 3, {"custom": {"seats": 3}}, False),
    ("custom.seats", "ne", 3, {}, True),
    ("custom.seats", "gt", 2, {"custom": {"seats": 3}}, True),
    ("custom.seats", "gt", 3, {"custom": {"seats": 3}}, False),
    ("custom.seats", "gte", 3, {"custom": {"seats": 3}}, True),
    ("custom.seats", "lt", 3, {"custom": {"seats": 3}}, False),
    ("custom.seats", "lte", 3, {"custom": {"seats": 3}}, True),
    ("custom.seats", "gt", -1, {}, False),
    ("custom.seats", "lt", 10, {}, False),
    ("custom.seats", "in", [1, 3], {"custom": {"seats": 3}}, True),
    ("custom.seats", "in", [1, 2], {"custom": {"seats": 3}}, False),
    ("custom.seats", "exists", None, {"custom": {"seats": 0}}, True),
    ("custom.score", "eq", 0.1, {"custom": {"score": 0.1}}, True),
    ("custom.score", "gt", 0.1, {"custom": {"score": 0.30000000000000004}}, True),
    ("custom.score", "lt", 10**30, {"custom": {"score": 1e29}}, True),
    # a stored value of the wrong JSON type is absent
    ("custom.seats", "eq", 3, {"custom": {"seats": "3"}}, False),
    ("custom.seats", "exists", None, {"custom": {"seats": "3"}}, False),
    ("custom.seats", "ne", 3, {"custom": {"seats": "3"}}, True),
    ("custom.seats", "eq", 1, {"custom": {"seats": True}}, False),
    ("custom.plan", "eq", "1", {"custom": {"plan": 1}}, False),
    ("custom.plan", "exists", None, {"custom": {"plan": None}}, False),
    # events: a count, 0 when none; names normalised
    ("event:Signed.Up", "gte", 2, {"events": {"signed-up": 2}}, True),
    ("event:signed$up", "eq", 2, {"events": {"signed-up": 2}}, True),
    ("event:signed-up", "gt", 2, {"events": {"signed-up": 2}}, False),
    ("event:signed-up", "eq", 0, {}, True),
    ("event:signed-up", "lt", 1, {}, True),
    ("event:signed-up", "ne", 0, {}, False),
    ("event:signed-up", "in", [0, 5], {}, True),
    ("event:signed-up", "exists", None, {}, False),
    ("event:signed-up", "exists", None, {"events": {"signed-up": 1}}, True),
    ("event:signed-up", "not_exists", None, {}, True),
    ("event:signed-up", "not_exists", None, {"events": {"signed-up": 1}}, False),
    # booleans
    ("custom.vip", "eq", True, {"custom": {"vip": True}}, True),
    ("custom.vip", "eq", False, {"custom": {"vip": True}}, False),
    ("custom.vip", "ne", False, {"custom": {"vip": True}}, True),
    ("custom.vip", "ne", True, {"custom": {"vip": True}}, False),
    ("custom.vip", "ne", True, {}, True),
    ("custom.vip", "eq", True, {}, False),
    ("custom.vip", "eq", True, {"custom": {"vip": 1}}, False),
    ("custom.vip", "exists", None, {"custom": {"vip": False}}, True),
    # dates: a date alone is midnight UTC; before/after are strict
    ("signed_up_at", "before", "2015-01-01", {"signed_up_at": MIDNIGHT_2015 - US}, True),
    ("signed_up_at", "before", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, False),
    ("signed_up_at", "after", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, False),
    ("signed_up_at", "after", "2015-01-01", {"signed_up_at": MIDNIGHT_2015 + US}, True),
    ("signed_up_at", "lt", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, False),
    ("signed_up_at", "lte", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, True),
    ("signed_up_at", "gt", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, False),
    ("signed_up_at", "gte", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, True),
    (
        "signed_up_at",
        "before",
        "01/02/2015",
        {"signed_up_at": MIDNIGHT_2015 + timedelta(31)},
        False,
    ),
    ("signed_up_at", "before", "01/02/2015", {"signed_up_at": MIDNIGHT_2015 + timedelta(30)}, True),
    (
        "signed_up_at",
        "after",
        "2015-01-01T10:00:00+02:00",
        {"signed_up_at": datetime(2015, 1, 1, 8, 0, 1, tzinfo=UTC)},
        True,
    ),
    (
        "signed_up_at",
        "after",
        "2015-01-01T10:00:00",
        {"signed_up_at": datetime(2015, 1, 1, 9, tzinfo=UTC)},
        False,
    ),
    ("signed_up_at", "after", 1420070400, {"signed_up_at": MIDNIGHT_2015 + US}, True),
    # eq/ne on a date alone = that UTC calendar day; on a date-time = that instant
    ("signed_up_at", "eq", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, True),
    ("signed_up_at", "eq", "2015-01-01", {"signed_up_at": MIDNIGHT_2015 + timedelta(1) - US}, True),
    ("signed_up_at", "eq", "2015-01-01", {"signed_up_at": MIDNIGHT_2015 + timedelta(1)}, False),
    ("signed_up_at", "eq", "2015-01-01", {"signed_up_at": MIDNIGHT_2015 - US}, False),
    (
        "signed_up_at",
        "eq",
        "1/1/2015",
        {"signed_up_at": datetime(2014, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))},
        True,
    ),
    ("signed_up_at", "ne", "2015-01-01", {"signed_up_at": MIDNIGHT_2015}, False),
    ("signed_up_at", "ne", "2015-01-01", {"signed_up_at": MIDNIGHT_2015 - US}, True),
    ("signed_up_at", "ne", "2015-01-01", {}, True),
    (
        "signed_up_at",
        "eq",
        "2015-01-01T10:00:00+02:00",
        {"signed_up_at": datetime(2015, 1, 1, 8, tzinfo=UTC)},
        True,
    ),
    (
        "signed_up_at",
        "eq",
        "2015-01-01T10:00:00+02:00",
        {"signed_up_at": datetime(2015, 1, 1, 8, 0, 1, tzinfo=UTC)},
        False,
    ),
    ("signed_up_at", "before", "2015-01-01", {}, False),
    ("signed_up_at", "after", "2015-01-01", {}, False),
    ("signed_up_at", "not_exists", None, {}, True),
    # days_ago: an instant for orderings, the UTC day for eq/ne
    ("last_seen_at", "after", {"days_ago": 7}, {"last_seen_at": NOW - timedelta(days=6)}, True),
    ("last_seen_at", "after", {"days_ago": 7}, {"last_seen_at": NOW - timedelta(days=7)}, False),
    (
        "last_seen_at",
        "after",
        {"days_ago": 7},
        {"last_seen_at": NOW - timedelta(days=7) + US},
        True,
    ),
    ("last_seen_at", "before", {"days_ago": 7}, {"last_seen_at": NOW - timedelta(days=8)}, True),
    ("last_seen_at", "before", {"days_ago": 0}, {"last_seen_at": NOW - US}, True),
    (
        "last_seen_at",
        "eq",
        {"days_ago": 3},
        {"last_seen_at": datetime(2024, 6, 12, tzinfo=UTC)},
        True,
    ),
    (
        "last_seen_at",
        "eq",
        {"days_ago": 3},
        {"last_seen_at": datetime(2024, 6, 12, 23, 59, tzinfo=UTC)},
        True,
    ),
    (
        "last_seen_at",
        "eq",
        {"days_ago": 3},
        {"last_seen_at": datetime(2024, 6, 13, tzinfo=UTC)},
        False,
    ),
    (
        "last_seen_at",
        "ne",
        {"days_ago": 3},
        {"last_seen_at": datetime(2024, 6, 13, tzinfo=UTC)},
        True,
    ),
    # custom dates are stored as ISO strings with an offset
    (
        "custom.renewal",
        "after",
        "2014-12-31",
        {"custom": {"renewal": "2015-01-01T00:00:00+00:00"}},
        True,
    ),
    (
        "custom.renewal",
        "before",
        "2015-01-01",
        {"custom": {"renewal": "2015-01-01T00:30:00+01:00"}},
        True,
    ),
    (
        "custom.renewal",
        "eq",
        "2015-01-01",
        {"custom": {"renewal": "2015-01-01T18:00:00+00:00"}},
        True,
    ),
    ("custom.renewal", "exists", None, {"custom": {"renewal": 1420070400}}, False),
    (
        "custom.renewal",
        "lt",
        {"days_ago": 0},
        {"custom": {"renewal": "2015-01-01T00:00:00+00:00"}},
        True,
    ),
    # an attribute the workspace does not have is absent, whatever the person holds under it
    ("custom.missing", "eq", "x", {"custom": {"missing": "x"}}, False),
    ("custom.missing", "contains", "x", {"custom": {"missing": "x"}}, False),
    ("custom.missing", "gt", 1, {"custom": {"missing": 5}}, False),
    ("custom.missing", "exists", None, {"custom": {"missing": "x"}}, False),
    ("custom.missing", "not_exists", None, {"custom": {"missing": "x"}}, True),
    ("custom.missing", "ne", "x", {"custom": {"missing": "x"}}, True),
    # attribute names are found case-insensitively; the stored spelling is used
    ("custom.PLAN", "eq", "pro", {"custom": {"plan": "Pro"}}, True),
    # segments
    ("segment", "eq", "vips", {"tags": ["VIP"]}, True),
    ("segment", "eq", "vips", {}, False),
    ("segment", "ne", "vips", {}, True),
    ("segment", "ne", "vips", {"tags": ["vip"]}, False),
    ("segment", "eq", "pro_vips", {"tags": ["vip"], "custom": {"plan": "PRO"}}, True),
    ("segment", "eq", "pro_vips", {"tags": ["vip"], "custom": {"plan": "free"}}, False),
]


@pytest.mark.parametrize(
    ("field", "op", "value", "fields", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]!r}-{i}" for i, c in enumerate(CASES)],
)
def test_condition(field: str, op: str, value: Any, fields: dict[str, Any], expected: bool) -> None:
    contact = person(**fields)
    assert matches(cond(field, op, value), contact, CTX) is expected
    # `not` is plain negation, including on missing values
    assert matches({"not": cond(field, op, value)}, contact, CTX) is (not expected)


def test_and_or_not() -> None:
    contact = person(email="a@b.c", tags=["vip"])
    yes, no = cond("tag", "eq", "vip"), cond("tag", "eq", "nope")
    assert matches({"and": []}, contact, CTX) is True
    assert matches({"or": []}, contact, CTX) is False
    assert matches({"and": [yes, yes]}, contact, CTX) is True
    assert matches({"and": [yes, no]}, contact, CTX) is False
    assert matches({"or": [no, yes]}, contact, CTX) is True
    assert matches({"not": {"or": [no, no]}}, contact, CTX) is True
    assert matches({"not": {"not": yes}}, contact, CTX) is True


def test_spec_example() -> None:
    audience = {
        "and": [
            {"field": "tag", "op": "eq", "value": "New Sign-Ups 2015"},
            {
                "or": [
                    {"field": "custom.plan", "op": "eq", "value": "pro"},
                    {"not": {"field": "signed_up_at", "op": "before", "value": "2015-01-01"}},
                ]
            },
        ]
    }
    tagged = {"tags": ["new sign-ups 2015"]}
    assert matches(audience, person(**tagged, custom={"plan": "Pro"}), CTX)
    assert matches(audience, person(**tagged, signed_up_at=MIDNIGHT_2015), CTX)
    assert not matches(audience, person(**tagged, signed_up_at=MIDNIGHT_2015 - US), CTX)
    # signed_up_at unknown: "before" is false, so "not before" is true
    assert matches(audience, person(**tagged), CTX)
    assert not matches(audience, person(custom={"plan": "pro"}), CTX)


def test_compiled_filter_evaluates_many_people() -> None:
    compiled = compile_filter(cond("tag", "in", ["a", "b"]), CTX)
    assert [compiled.matches(person(tags=t)) for t in (["A"], ["c"], [], ["c", "B"])] == [
        True,
        False,
        False,
        True,
    ]


def test_fold_is_per_code_point() -> None:
    assert fold("ÀÉİẞΣ") == "àéißσ"
    assert fold("ΟΔΟΣ ΟΔΟΣ") == "οδοσ οδοσ"
    assert fold("Straße") == "straße"
    assert fold("\ua7cb\U00010d50") == "\u0264\U00010d70"  # pairs newer than Python 3.11's tables
    for text in ("ΑΣ", "İi", "ǅ", "K"):
        assert fold(text) == "".join(fold(ch) for ch in text)
        assert len(fold(text)) == len(text)


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


def test_context_is_checked() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FilterContext({}, {}, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown type"):
        FilterContext({"plan": "text"}, {}, NOW)


# --- SQL: user values and attribute names travel as parameters only ------------------------

EVIL = "x'); DROP TABLE contacts; --"


def test_to_sql_never_puts_values_or_names_in_the_text() -> None:
    ctx = FilterContext(
        {EVIL: "string", EVIL + "n": "integer", EVIL + "d": "date", EVIL + "b": "boolean"},
        {"seg": {"field": "tag", "op": "contains", "value": EVIL + "seg"}},
        NOW,
    )
    leaves = [
        cond(f"custom.{EVIL}", op, v)
        for op, v in [("eq", EVIL), ("ne", EVIL), ("contains", EVIL), ("starts_with", EVIL)]
    ] + [
        cond(f"custom.{EVIL}", "ends_with", EVIL),
        cond(f"custom.{EVIL}", "in", [EVIL, "%_\\"]),
        cond(f"custom.{EVIL}", "exists"),
        cond(f"custom.{EVIL}n", "gte", 12345),
        cond(f"custom.{EVIL}n", "in", [12345]),
        cond(f"custom.{EVIL}d", "eq", "2015-01-01"),
        cond(f"custom.{EVIL}d", "after", {"days_ago": 3}),
        cond(f"custom.{EVIL}b", "ne", True),
        cond(f"custom.{EVIL}zz", "eq", EVIL),
        cond("tag", "eq", EVIL),
        cond("tag", "in", [EVIL]),
        cond("email", "ends_with", EVIL),
        cond(f"event:{EVIL}", "gt", 12345),
        cond("segment", "eq", "seg"),
    ]
    sql, params = to_sql({"or": [{"and": leaves}, {"not": {"or": leaves}}]}, ctx, "c", 1)
    lowered = sql.lower()
    for needle in ("drop", "12345", "2015", "x'", "--", "%", "\\", "seg"):
        assert needle not in lowered, needle
    assert EVIL in params and EVIL + "n" in params
    assert any(EVIL.lower().replace(".", "-") in str(p) for p in params)  # the event name
    assert EVIL + "seg" in params
    # every placeholder carries a cast, and they number the parameters exactly
    numbers = sorted({int(n) for n in re.findall(r"\$(\d+)", sql)})
    assert numbers == list(range(1, len(params) + 1))
    assert re.findall(r"\$\d+(?!\d|::)", sql) == []


def test_to_sql_numbers_placeholders_from_first_param() -> None:
    sql, params = to_sql(
        {"and": [cond("email", "eq", "a"), cond("custom.seats", "gt", 1)]}, CTX, "p", 3
    )
    assert sorted({int(n) for n in re.findall(r"\$(\d+)", sql)}) == [3, 4, 5]
    assert params == ["a", "seats", Decimal(1)]
    # case-insensitive under an explicit collation: the database's default (C) is ASCII-only
    assert f"lower((p.email) COLLATE {CASE_COLLATION})" in sql
    assert "p.email" in sql and "p.custom" in sql and "c." not in sql


def test_to_sql_constants() -> None:
    assert to_sql({"and": []}, CTX) == ("TRUE", [])
    assert to_sql({"or": []}, CTX) == ("FALSE", [])
    assert to_sql(cond("custom.missing", "ne", "x"), CTX) == ("TRUE", [])
    assert to_sql(cond("custom.missing", "eq", "x"), CTX) == ("FALSE", [])


@pytest.mark.parametrize("alias", ["c; DROP TABLE contacts", "", "1c", "_fe", "c.x"])
def test_to_sql_rejects_odd_aliases(alias: str) -> None:
    with pytest.raises(ValueError, match="alias"):
        to_sql({"and": []}, CTX, alias)


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


def test_in_is_a_subquery_postgresql_can_hash() -> None:
    for field in ("email", "custom.seats"):
        sql, _ = to_sql(
            {"field": field, "op": "in", "value": ["1", "2"] if field == "email" else [1, 2]}, CTX
        )
        assert "FROM unnest(" in sql and "= ANY (SELECT" in sql, sql


@pytest.mark.parametrize(
    ("filter_", "everyone"),
    [
        ({"and": []}, True),
        ({"or": [{"and": []}]}, True),
        ({"not": {"or": []}}, True),
        ({"or": [{"field": "tag", "op": "eq", "value": "x"}, {"and": []}]}, True),
        ({"or": []}, False),
        ({"and": [{"field": "tag", "op": "eq", "value": "x"}]}, False),
        ({"and": [{"and": []}, {"field": "role", "op": "eq", "value": "user"}]}, False),
        ({"field": "email", "op": "exists"}, False),
    ],
)
def test_an_audience_that_matches_everyone_is_recognised(filter_: Any, everyone: bool) -> None:
    assert compile_filter(filter_, CTX).matches_everyone is everyone
