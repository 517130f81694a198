"""The filter language in memory (shared.filters.memory): the operator tables on one person,
and/or/not, compiled filters and case folding.

Agreement between `matches` and `to_sql` is checked on PostgreSQL by
tests/integration/test_filter_property.py; these tests pin the semantics themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.filters import compile_filter, fold, matches
from tests.support.filters import MIDNIGHT_2015, NOW, US
from tests.unit.shared.filters._helpers import CTX, cond, person

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
