"""People search (services/upload/people_query.py): the search box's text as a filter, what it
finds on people in memory (the same filter the list and its count run as SQL), and the
sentences that refuse what names nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.upload import people_query
from shared.errors import InvalidValue
from shared.filters import FilterContext, compile_filter, matches

ATTRIBUTES = {
    "plan": "string",
    "seats": "integer",
    "score": "float",
    "vip": "boolean",
    "renewal": "date",
    "Favourite colour": "string",
    "Sign-up date": "string",  # an attribute named like a standard field's label
}
CTX = FilterContext(ATTRIBUTES, {}, datetime(2026, 12, 1, tzinfo=UTC))


def _text(value: str) -> dict[str, Any]:
    return {
        "or": [
            {"field": "name", "op": "contains", "value": value},
            {"field": "email", "op": "contains", "value": value},
            {"field": "user_id", "op": "eq", "value": value},
        ]
    }


def _eq(field: str, value: Any, op: str = "eq") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("", {"and": []}),
        ("   ", {"and": []}),
        (None, {"and": []}),
        # Free text: the name, the email, or the whole user ID.
        ("ann", _text("ann")),
        ("  Ann Archer ", _text("Ann Archer")),
        ("u1120", _text("u1120")),
        ('"Ann Archer"', _text("Ann Archer")),
        ("ann@example.com", _text("ann@example.com")),
        ("a=b@example.com", _text("a=b@example.com")),  # an email, not "a = …"
        ("2001:db8::1", _text("2001:db8::1")),  # no key starts with a digit
        ("O'Brien", _text("O'Brien")),
        # Tags, quoted or not, with any quotes a keyboard makes.
        ("tag: New Sign-Ups 2015", _eq("tag", "New Sign-Ups 2015")),
        ('tag: "New Sign-Ups 2015"', _eq("tag", "New Sign-Ups 2015")),
        ("tag:'New Sign-Ups 2015'", _eq("tag", "New Sign-Ups 2015")),
        ("TAG: “New Sign-Ups 2015”", _eq("tag", "New Sign-Ups 2015")),
        ("tags: VIP", _eq("tag", "VIP")),
        ("tag = VIP", _eq("tag", "VIP")),
        # Standard fields by name or label; custom attributes with or without "custom.".
        ("email: a@x.io", _eq("email", "a@x.io")),
        ("Email: A@X.io", _eq("email", "A@X.io")),
        ("user_id: u1", _eq("user_id", "u1")),
        ("user id: u1", _eq("user_id", "u1")),
        ("User ID: u1", _eq("user_id", "u1")),
        ("last seen ip: 10.0.0.1", _eq("last_seen_ip", "10.0.0.1")),
        ("name: Ann Archer", _eq("name", "Ann Archer")),
        ("role: lead", _eq("role", "lead")),
        ("role: Users", _eq("role", "user")),
        ("plan: pro", _eq("custom.plan", "pro")),
        ("Plan: pro", _eq("custom.plan", "pro")),
        ("plan = pro", _eq("custom.plan", "pro")),
        ("custom.plan: pro", _eq("custom.plan", "pro")),
        ("custom.PLAN: 'pro plus'", _eq("custom.plan", "pro plus")),
        ("favourite colour: teal", _eq("custom.Favourite colour", "teal")),
        ("sign-up date: soon", _eq("custom.Sign-up date", "soon")),  # the attribute wins
        ("signed up at: 2015-01-31", _eq("signed_up_at", "2015-01-31")),
        ("custom.plan: time: 10:30", _eq("custom.plan", "time: 10:30")),  # the first colon
        # Numbers, booleans and dates, with comparisons.
        ("seats: 30", _eq("custom.seats", 30)),
        ("seats > 30", _eq("custom.seats", 30, "gt")),
        ("seats:>=30", _eq("custom.seats", 30, "gte")),
        ("seats: < 1,000", _eq("custom.seats", 1000, "lt")),
        ("seats <= -2", _eq("custom.seats", -2, "lte")),
        ("seats:\t>\r\n30", _eq("custom.seats", 30, "gt")),  # any spaces around the operator
        ("score: 2.5", _eq("custom.score", 2.5)),
        ("score > 1e3", _eq("custom.score", 1000.0, "gt")),
        ("vip: yes", _eq("custom.vip", True)),
        ("vip: FALSE", _eq("custom.vip", False)),
        ("renewal: 2027-01-31", _eq("custom.renewal", "2027-01-31")),
        ("signed_up_at < 2015-01-01", _eq("signed_up_at", "2015-01-01", "before")),
        ("Sign-up date: 01/02/2015", _eq("custom.Sign-up date", "01/02/2015")),
        ("last_seen_at > 31/01/2015", _eq("last_seen_at", "31/01/2015", "after")),
        ("created_at >= 2026-01-01", _eq("created_at", "2026-01-01", "gte")),
        ("updated_at <= 2026-01-01", _eq("updated_at", "2026-01-01", "lte")),
    ],
)
def test_what_a_search_means(q: str | None, expected: dict[str, Any]) -> None:
    query = people_query.parse(q, ATTRIBUTES)
    assert query.filter == expected
    compile_filter(query.filter, CTX)  # always a valid filter: the list and count can run it


@pytest.mark.parametrize(
    ("q", "email", "user_id"),
    [
        ("ann@example.com", "ann@example.com", "ann@example.com"),
        ("u1120", None, "u1120"),
        ("Ann Archer", None, None),  # two words: no identifier
        ("email: a@x.io", "a@x.io", None),
        ("user_id: u1", None, "u1"),
        ("tag: VIP", None, None),
        ("plan: pro", None, None),
        ("", None, None),
    ],
)
def test_the_identifiers_a_search_names(q: str, email: str | None, user_id: str | None) -> None:
    query = people_query.parse(q, ATTRIBUTES)
    assert (query.email, query.user_id) == (email, user_id)


PEOPLE = [
    {
        "id": "c1",
        "role": "user",
        "user_id": "u1120",
        "email": "ann@example.com",
        "name": "Ann Archer",
        "signed_up_at": datetime(2014, 12, 31, tzinfo=UTC),
        "tags": ["New Sign-Ups 2015"],
        "custom": {"plan": "pro", "seats": 40, "vip": True},
    },
    {
        "id": "c2",
        "role": "lead",
        "user_id": None,
        "email": "bob@example.com",
        "name": "Bob Baker",
        "signed_up_at": None,
        "tags": ["new sign-ups 2015", "VIP"],
        "custom": {"plan": "Pro", "seats": 3},
    },
    {
        "id": "c3",
        "role": "user",
        "user_id": "u11200",
        "email": "cat@annex.example",
        "name": "Cat Cole",
        "signed_up_at": datetime(2015, 6, 1, tzinfo=UTC),
        "tags": [],
        "custom": {"plan": "professional", "seats": "30", "vip": False},  # "30": not a number
    },
]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("", ["c1", "c2", "c3"]),
        ("u1120", ["c1"]),  # the whole user ID: not u11200
        ("U1120", ["c1"]),  # ignoring case, as every text comparison
        ("ann", ["c1", "c3"]),  # in the name or the email
        ("tag: New Sign-Ups 2015", ["c1", "c2"]),
        ('tag: "New Sign-Ups 2015"', ["c1", "c2"]),
        ("plan: pro", ["c1", "c2"]),  # equal, ignoring case: not "professional"
        ("seats > 30", ["c1"]),
        ("seats: 30", []),  # Cat's "30" is text in a number attribute: absent
        ("vip: true", ["c1"]),
        ("role: lead", ["c2"]),
        ("signed_up_at < 2015-01-01", ["c1"]),
        ("signed_up_at: 2015-06-01", ["c3"]),  # that day
        ("email: ANN@example.com", ["c1"]),
    ],
)
def test_what_a_search_finds(q: str, found: list[str]) -> None:
    query = people_query.parse(q, ATTRIBUTES)
    assert [p["id"] for p in PEOPLE if matches(query.filter, p, CTX)] == found


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (
            "foo: bar",
            "There is no field or custom attribute “foo” in this workspace. Search for a name,"
            " an email or a user ID, or write “tag: <tag name>” or “<field>: <value>” with a"
            " standard field (id, role, email, user_id, name, signed_up_at, phone,"
            " last_seen_at, last_seen_ip, created_at, updated_at) or a custom attribute"
            " (Favourite colour, plan, renewal, score, seats, Sign-up date, vip). To search for"
            ' the text itself, put it in quotes: "foo: bar".',
        ),
        ("custom.nope: 1", "This workspace has no custom attribute “nope”. Search for a name"),
        ("custom.: 1", "This workspace has no custom attribute “”."),
        ("tag:", "Write what to look for after “tag:”, as in “tag: New Sign-Ups 2015”."),
        ('tag: ""', "Write what to look for after “tag:”"),
        ("plan:", "Write what to look for after “plan:”, as in “plan: …”."),
        ('tag: "New Sign-Ups', 'The quote is not closed: write “tag: "New Sign-Ups"”.'),
        ('"Ann', 'The quote is not closed: write “"Ann"”.'),
        ("seats: many", "“seats” is a number, and “many” is not one: write “seats: 30”."),
        ("seats: 1,5", "“seats” is a number, and “1,5” is not one"),
        ("seats: 1e999", "“seats” is a number, and “1e999” is not one"),
        ("plan > pro", "“plan” is compared as text: only numbers and dates take > or <."),
        ("tag > VIP", "“tag” is compared as a tag: only numbers and dates take > or <."),
        ("role: admin", "A role is user or lead, not “admin”: write “role: lead”."),
        ("vip: maybe", "“vip” is true or false, not “maybe”: write “vip: true”."),
        ("signed_up_at: pro", "“pro” is not a date: write “signed_up_at: 2015-01-31”"),
        ("renewal > soon", "“soon” is not a date: write “renewal: 2015-01-31”"),
        ("x" * 1001, "The search is 1,001 characters long: at most 1,000 are allowed."),
        ("a\x00b", "The search contains a NUL character: remove it."),
    ],
)
def test_what_a_search_refuses(q: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        people_query.parse(q, ATTRIBUTES)
    assert str(caught.value).startswith(message)


def test_a_workspace_without_attributes_says_only_the_standard_fields() -> None:
    with pytest.raises(InvalidValue) as caught:
        people_query.parse("plan: pro", {})
    assert "or a custom attribute" not in str(caught.value)
    assert "with a standard field (id, role, email," in str(caught.value)


def test_many_attributes_are_named_ten_at_most() -> None:
    many = {f"a{i:02}": "string" for i in range(25)}
    with pytest.raises(InvalidValue) as caught:
        people_query.parse("plan: pro", many)
    assert "(a00, a01, a02, a03, a04, a05, a06, a07, a08, a09 and 15 more)" in str(caught.value)


def test_the_lists_other_filters_join_the_search() -> None:
    search = people_query.parse("plan: pro", ATTRIBUTES).filter
    assert people_query.with_filters(search, email=None, tag=None, role=None) == {"and": [search]}
    combined = people_query.with_filters(
        search, email=" Ann@Example.com ", tag=" new sign-ups 2015 ", role="user"
    )
    assert combined == {
        "and": [
            search,
            {"field": "email", "op": "eq", "value": "Ann@Example.com"},
            {"field": "tag", "op": "eq", "value": "new sign-ups 2015"},
            {"field": "role", "op": "eq", "value": "user"},
        ]
    }
    assert [
        p["id"] for p in PEOPLE if matches(combined, {**p, "email": "ann@example.com"}, CTX)
    ] == ["c1"]
