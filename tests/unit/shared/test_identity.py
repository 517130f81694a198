"""The identity engine against SPEC §2.1: a table per rule, and a reference model under hypothesis.

Pure: every test builds an in-memory :class:`Index`, runs records through an :class:`Engine` and
inspects the contacts and outcomes. Contacts given in a case have ids ``c1``, ``c2``…; contacts the
engine creates get ``n1``, ``n2``… in order of creation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.identity import Contact, Engine, Index, Kind, Outcome

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = datetime(2020, 1, 1, tzinfo=UTC)


def contact(
    cid: str, role: str, user_id: str | None = None, email: str | None = None, **kw: Any
) -> Contact:
    kw.setdefault("created_at", EARLIER)
    kw.setdefault("updated_at", EARLIER)
    return Contact(id=cid, role=role, user_id=user_id, email=email, **kw)


def make_engine(
    contacts: Sequence[Contact], canonical_tag: Callable[[str], str] | None = None
) -> Engine:
    counter = itertools.count(1)
    kwargs: dict[str, Any] = {}
    if canonical_tag is not None:
        kwargs["canonical_tag"] = canonical_tag
    return Engine(Index(contacts), now=NOW, new_id=lambda: f"n{next(counter)}", **kwargs)


def users(**record: Any) -> tuple[Kind, dict[str, Any]]:
    return "users", record


def leads(**record: Any) -> tuple[Kind, dict[str, Any]]:
    return "leads", record


@dataclass
class Case:
    initial: list[Contact]
    records: list[tuple[Kind, dict[str, Any]]]
    # "created:n1", "updated:c1" or "failed:<substring of the error>"
    outcomes: list[str]
    # id -> the fields to check on that contact at the end (every other id must be unchanged)
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)
    tag: str | None = None


def snapshot(c: Contact) -> dict[str, Any]:
    return {
        "role": c.role,
        "user_id": c.user_id,
        "email": c.email,
        "name": c.name,
        "phone": c.phone,
        "signed_up_at": c.signed_up_at,
        "last_seen_at": c.last_seen_at,
        "last_seen_ip": c.last_seen_ip,
        "tags": list(c.tags),
        "custom": dict(c.custom),
    }


def check_outcome(outcome: Outcome, expected: str) -> None:
    result, _, detail = expected.partition(":")
    assert outcome.result == result, (outcome, expected)
    if result == "failed":
        assert outcome.contact is None
        assert any(detail in error for error in outcome.errors), outcome.errors
    else:
        assert outcome.contact is not None
        assert outcome.contact.id == detail
        assert not outcome.errors


def run_case(case: Case) -> Engine:
    before = {c.id: snapshot(c) for c in case.initial}
    engine = make_engine(case.initial)
    assert len(case.records) == len(case.outcomes)
    for (kind, record), expected in zip(case.records, case.outcomes, strict=True):
        check_outcome(engine.apply(record, kind, case.tag), expected)
    created = {e.partition(":")[2] for e in case.outcomes if e.startswith("created:")}
    assert set(engine.index.by_id) == set(before) | created
    for cid, c in engine.index.by_id.items():
        now = snapshot(c)
        if cid in case.expect:
            for key, value in case.expect[cid].items():
                assert now[key] == value, (cid, key)
        else:
            assert cid in before, f"created contact {cid} has no expectation"
            assert now == before[cid], f"{cid} should be unchanged"
    return engine


def table(cases: Mapping[str, Case]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", list(cases.values()), ids=list(cases))


# ---------------------------------------------------------------- rule 1: a user has the user_id

RULE_1 = {
    "updates-user-with-that-user_id": Case(
        [contact("c1", "user", "u1", "a@x.io", name="Old")],
        [users(user_id="u1", name="New")],
        ["updated:c1"],
        {"c1": {"role": "user", "user_id": "u1", "email": "a@x.io", "name": "New"}},
    ),
    "same-email-is-kept": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(user_id="u1", email="a@x.io", name="Ann")],
        ["updated:c1"],
        {"c1": {"email": "a@x.io", "name": "Ann"}},
    ),
    "different-email-changes-email": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(user_id="u1", email="new@x.io")],
        ["updated:c1"],
        {"c1": {"user_id": "u1", "email": "new@x.io"}},
    ),
    "user_id-wins-over-email-of-another-user": Case(
        [contact("c1", "user", "u1", "a@x.io"), contact("c2", "user", "u2", "b@x.io", name="B")],
        [users(user_id="u1", email="b@x.io")],
        ["updated:c1"],
        {"c1": {"user_id": "u1", "email": "b@x.io"}},  # c2 unchanged; both now share b@
    ),
    "user_id-wins-over-lead-with-the-email": Case(
        [contact("c1", "user", "u1", "a@x.io"), contact("c2", "lead", None, "b@x.io")],
        [users(user_id="u1", email="b@x.io")],
        ["updated:c1"],
        {"c1": {"email": "b@x.io"}},  # the lead is not converted nor touched
    ),
    "user-without-email-gains-one": Case(
        [contact("c1", "user", "u1", None)],
        [users(user_id="u1", email="a@x.io")],
        ["updated:c1"],
        {"c1": {"email": "a@x.io"}},
    ),
    "email-changed-in-case-only-stored-as-given": Case(
        [contact("c1", "user", "u1", "ann@x.io")],
        [users(user_id="u1", email="Ann@X.io")],
        ["updated:c1"],
        {"c1": {"email": "Ann@X.io"}},
    ),
}


@table(RULE_1)
def test_rule_1(case: Case) -> None:
    run_case(case)


# ---------------------------------------------------------------- rule 2: a contact gains it

RULE_2 = {
    "lead-converts-keeping-tags-and-custom": Case(
        [contact("c1", "lead", None, "a@x.io", name="Ann", tags=["VIP"], custom={"plan": "pro"})],
        [users(user_id="u1", email="a@x.io")],
        ["updated:c1"],
        {
            "c1": {
                "role": "user",
                "user_id": "u1",
                "email": "a@x.io",
                "name": "Ann",
                "tags": ["VIP"],
                "custom": {"plan": "pro"},
            }
        },
    ),
    "email-only-user-gains-user_id": Case(
        [contact("c1", "user", None, "a@x.io", tags=["Gold"], custom={"seats": 3})],
        [users(user_id="u1", email="a@x.io", name="Ann")],
        ["updated:c1"],
        {
            "c1": {
                "role": "user",
                "user_id": "u1",
                "name": "Ann",
                "tags": ["Gold"],
                "custom": {"seats": 3},
            }
        },
    ),
    "email-matched-case-insensitively": Case(
        [contact("c1", "lead", None, "Ann@Example.COM")],
        [users(user_id="u1", email="ann@example.com")],
        ["updated:c1"],
        {"c1": {"role": "user", "user_id": "u1", "email": "ann@example.com"}},
    ),
    # "matches exactly one contact that has no user_id": a user holding another user_id does not
    # count; it stays as it is (rule 3's sentence) and now shares the email with the convert.
    "lead-beside-a-user-with-another-user_id": Case(
        [contact("c1", "user", "u9", "a@x.io"), contact("c2", "lead", None, "a@x.io")],
        [users(user_id="u1", email="a@x.io")],
        ["updated:c2"],
        {"c2": {"role": "user", "user_id": "u1"}},
    ),
    "lead-and-email-only-user-share-email-creates": Case(
        [contact("c1", "lead", None, "a@x.io"), contact("c2", "user", None, "a@x.io")],
        [users(user_id="u1", email="a@x.io", name="New")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u1", "email": "a@x.io", "name": "New", "tags": []}},
    ),
    "two-leads-share-email-creates": Case(
        [contact("c1", "lead", None, "a@x.io"), contact("c2", "lead", None, "A@X.IO")],
        [users(user_id="u1", email="a@x.io")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u1", "email": "a@x.io"}},
    ),
    "record-without-email-cannot-match": Case(
        [contact("c1", "lead", None, "a@x.io")],
        [users(user_id="u1")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u1", "email": None}},
    ),
}


@table(RULE_2)
def test_rule_2(case: Case) -> None:
    run_case(case)


def test_rule_2_indexes_the_new_user_id() -> None:
    lead = contact("c1", "lead", None, "a@x.io")
    engine = make_engine([lead])
    assert engine.apply({"user_id": "u1", "email": "a@x.io"}, "users").contact is lead
    outcome = engine.apply({"user_id": "u1", "email": "b@x.io"}, "users")  # rule 1 now
    assert (outcome.result, outcome.contact) == ("updated", lead)
    assert (lead.user_id, lead.email) == ("u1", "b@x.io")
    assert engine.index.by_user_id["u1"] is lead


# ---------------------------------------------------------------- rule 3: create a new user

RULE_3 = {
    "other-user_id-with-same-email-stays-as-it-is": Case(
        [contact("c1", "user", "u1", "a@x.io", name="Ann", tags=["VIP"])],
        [users(user_id="u2", email="a@x.io", name="Bob")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u2", "email": "a@x.io", "name": "Bob", "tags": []}},
    ),
    "other-user_id-with-email-in-other-case": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(user_id="u2", email="A@X.io")],
        ["created:n1"],
        {"n1": {"user_id": "u2", "email": "A@X.io"}},
    ),
    "nobody-has-the-email": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(user_id="u2", email="b@x.io", name="Bob")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u2", "email": "b@x.io", "name": "Bob"}},
    ),
    "empty-workspace": Case(
        [],
        [users(user_id="u1", email="a@x.io")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u1", "email": "a@x.io", "name": None}},
    ),
    "user_id-only": Case(
        [],
        [users(user_id="u1")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": "u1", "email": None}},
    ),
}


@table(RULE_3)
def test_rule_3(case: Case) -> None:
    engine = run_case(case)
    created = engine.index.by_id["n1"]
    assert created.is_new and created.created_at == NOW and created.updated_at == NOW


def test_rule_3_both_users_share_the_email() -> None:
    first = contact("c1", "user", "u1", "a@x.io")
    engine = make_engine([first])
    outcome = engine.apply({"user_id": "u2", "email": "a@x.io"}, "users")
    assert outcome.result == "created"
    assert {c.user_id for c in engine.index.with_email("a@x.io")} == {"u1", "u2"}
    assert engine.index.by_user_id["u1"] is first
    assert engine.index.by_user_id["u2"] is outcome.contact


# ---------------------------------------------------------------- rule 4: no user_id

RULE_4 = {
    "one-user-with-user_id-is-updated": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(email="a@x.io", name="Ann")],
        ["updated:c1"],
        {"c1": {"user_id": "u1", "name": "Ann"}},
    ),
    "one-email-only-user-is-updated": Case(
        [contact("c1", "user", None, "a@x.io")],
        [users(email="a@x.io", name="Ann")],
        ["updated:c1"],
        {"c1": {"user_id": None, "name": "Ann"}},
    ),
    "email-case-insensitive": Case(
        [contact("c1", "user", "u1", "Ann@Example.com")],
        [users(email="ann@example.COM")],
        ["updated:c1"],
        {"c1": {"email": "ann@example.COM"}},
    ),
    "explicit-None-user_id-is-no-user_id": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(user_id=None, email="a@x.io", name="Ann")],
        ["updated:c1"],
        {"c1": {"user_id": "u1", "name": "Ann"}},
    ),
    "none-creates-user-without-user_id": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(email="b@x.io", name="Bob")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": None, "email": "b@x.io", "name": "Bob"}},
    ),
    "lead-with-the-email-is-not-matched": Case(
        [contact("c1", "lead", None, "a@x.io", name="Lead")],
        [users(email="a@x.io", name="User")],
        ["created:n1"],
        {"n1": {"role": "user", "user_id": None, "email": "a@x.io", "name": "User"}},
    ),
    "one-user-beside-a-lead-is-updated": Case(
        [contact("c1", "lead", None, "a@x.io"), contact("c2", "user", "u2", "a@x.io")],
        [users(email="a@x.io", name="Ann")],
        ["updated:c2"],
        {"c2": {"name": "Ann"}},
    ),
    "two-users-ambiguous": Case(
        [contact("c1", "user", "u1", "a@x.io"), contact("c2", "user", "u2", "A@x.io")],
        [users(email="a@x.io", name="Ann")],
        ["failed:ambiguous email: 2 contacts share"],
    ),
    "three-users-ambiguous-names-the-count": Case(
        [
            contact("c1", "user", "u1", "a@x.io"),
            contact("c2", "user", None, "a@x.io"),
            contact("c3", "user", "u3", "a@x.io"),
        ],
        [users(email="A@X.IO")],
        ["failed:ambiguous email: 3 contacts share"],
    ),
    "neither-user_id-nor-email-fails": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(name="Nobody")],
        ["failed:neither a user_id nor an email"],
    ),
}


@table(RULE_4)
def test_rule_4(case: Case) -> None:
    run_case(case)


def test_failed_record_changes_nothing() -> None:
    a = contact("c1", "user", "u1", "a@x.io", name="A")
    b = contact("c2", "user", "u2", "a@x.io", name="B")
    engine = make_engine([a, b])
    outcome = engine.apply({"email": "a@x.io", "name": "X", "tags": ["T"]}, "users", "imp")
    assert outcome.result == "failed"
    assert "'a@x.io'" in outcome.errors[0]
    assert engine.changed == {}
    assert (a.name, a.tags, b.name, b.tags) == ("A", [], "B", [])


# ---------------------------------------------------------------- leads

LEADS = {
    "none-creates-lead": Case(
        [contact("c1", "user", "u1", "b@x.io")],
        [leads(email="a@x.io", name="Lee")],
        ["created:n1"],
        {"n1": {"role": "lead", "user_id": None, "email": "a@x.io", "name": "Lee"}},
    ),
    "one-lead-is-updated": Case(
        [contact("c1", "lead", None, "a@x.io")],
        [leads(email="A@x.io", name="Lee")],
        ["updated:c1"],
        {"c1": {"role": "lead", "email": "A@x.io", "name": "Lee"}},
    ),
    "a-user-stays-a-user": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [leads(email="a@x.io", name="Ann")],
        ["updated:c1"],
        {"c1": {"role": "user", "user_id": "u1", "name": "Ann"}},
    ),
    "an-email-only-user-stays-a-user": Case(
        [contact("c1", "user", None, "a@x.io")],
        [leads(email="a@x.io")],
        ["updated:c1"],
        {"c1": {"role": "user", "user_id": None}},
    ),
    "user-and-lead-ambiguous": Case(
        [contact("c1", "user", "u1", "a@x.io"), contact("c2", "lead", None, "a@x.io")],
        [leads(email="a@x.io")],
        ["failed:ambiguous email: 2 contacts share"],
    ),
    "two-leads-ambiguous": Case(
        [contact("c1", "lead", None, "a@x.io"), contact("c2", "lead", None, "A@X.IO")],
        [leads(email="a@x.io")],
        ["failed:ambiguous email: 2 contacts share"],
    ),
    "three-contacts-ambiguous": Case(
        [
            contact("c1", "lead", None, "a@x.io"),
            contact("c2", "user", "u2", "a@x.io"),
            contact("c3", "user", None, "a@x.io"),
        ],
        [leads(email="a@x.io")],
        ["failed:ambiguous email: 3 contacts share"],
    ),
    "no-email-fails": Case(
        [contact("c1", "lead", None, "a@x.io")],
        [leads(name="Lee")],
        ["failed:a lead needs an email address"],
    ),
}


@table(LEADS)
def test_leads(case: Case) -> None:
    run_case(case)


# ---------------------------------------------------------------- blanks, tags

FULL = {
    "name": "Ann",
    "phone": "+442079460958",
    "signed_up_at": datetime(2019, 1, 1, tzinfo=UTC),
    "last_seen_at": datetime(2023, 1, 1, tzinfo=UTC),
    "last_seen_ip": "192.0.2.1",
}
CLEARED = dict.fromkeys(FULL)


def full_user(**kw: Any) -> Contact:
    return contact("c1", "user", "u1", "a@x.io", **{**FULL, **kw})


BLANKS = {
    "absent-keys-leave-everything": Case(
        [full_user(tags=["VIP"], custom={"plan": "pro"})],
        [users(user_id="u1")],
        ["updated:c1"],
        {"c1": {**FULL, "email": "a@x.io", "tags": ["VIP"], "custom": {"plan": "pro"}}},
    ),
    "None-clears-every-profile-field": Case(
        [full_user()],
        [users(user_id="u1", **CLEARED)],
        ["updated:c1"],
        {"c1": {**CLEARED, "user_id": "u1", "email": "a@x.io"}},
    ),
    "None-clears-one-field-only": Case(
        [full_user()],
        [users(user_id="u1", phone=None)],
        ["updated:c1"],
        {"c1": {**FULL, "phone": None}},
    ),
    "None-email-never-clears": Case(
        [full_user()],
        [users(user_id="u1", email=None, name="Bo")],
        ["updated:c1"],
        {"c1": {"email": "a@x.io", "name": "Bo"}},
    ),
    "lead-update-None-clears": Case(
        [contact("c1", "lead", None, "a@x.io", name="Lee", phone="+442079460958")],
        [leads(email="a@x.io", name=None)],
        ["updated:c1"],
        {"c1": {"name": None, "phone": "+442079460958"}},
    ),
    "custom-None-removes-attribute": Case(
        [full_user(custom={"plan": "pro", "seats": 3, "beta": True})],
        [users(user_id="u1", custom={"plan": None, "seats": 5, "region": "eu"})],
        ["updated:c1"],
        {"c1": {"custom": {"seats": 5, "beta": True, "region": "eu"}}},
    ),
    "custom-None-for-unknown-attribute-is-harmless": Case(
        [full_user(custom={"plan": "pro"})],
        [users(user_id="u1", custom={"gone": None})],
        ["updated:c1"],
        {"c1": {"custom": {"plan": "pro"}}},
    ),
    "created-contact-never-stores-None-custom": Case(
        [],
        [users(email="a@x.io", custom={"plan": None, "seats": 2}, name=None)],
        ["created:n1"],
        {"n1": {"custom": {"seats": 2}, "name": None}},
    ),
}


@table(BLANKS)
def test_blank_semantics(case: Case) -> None:
    run_case(case)


TAGS = {
    "import-tag-added": Case(
        [full_user(tags=["VIP"])],
        [users(user_id="u1")],
        ["updated:c1"],
        {"c1": {"tags": ["VIP", "spring-import"]}},
        tag="spring-import",
    ),
    "import-tag-on-created": Case(
        [],
        [leads(email="a@x.io")],
        ["created:n1"],
        {"n1": {"tags": ["spring-import"]}},
        tag="spring-import",
    ),
    "record-tags-then-import-tag": Case(
        [full_user()],
        [users(user_id="u1", tags=["Gold", "Beta"])],
        ["updated:c1"],
        {"c1": {"tags": ["Gold", "Beta", "imp"]}},
        tag="imp",
    ),
    "no-duplicate-case-insensitively": Case(
        [full_user(tags=["VIP", "Gold"])],
        [users(user_id="u1", tags=["vip", "GOLD", "New", "new"])],
        ["updated:c1"],
        {"c1": {"tags": ["VIP", "Gold", "New"]}},
        tag="vIp",
    ),
    "tags-are-only-added-never-removed": Case(
        [full_user(tags=["VIP"])],
        [users(user_id="u1", tags=[])],
        ["updated:c1"],
        {"c1": {"tags": ["VIP"]}},
    ),
    "same-import-twice-no-duplicate": Case(
        [full_user()],
        [users(user_id="u1"), users(user_id="u1")],
        ["updated:c1", "updated:c1"],
        {"c1": {"tags": ["imp"]}},
        tag="imp",
    ),
}


@table(TAGS)
def test_tags(case: Case) -> None:
    run_case(case)


def test_canonical_tag_spelling_is_used() -> None:
    known = {"vip": "VIP", "gold": "Gold"}
    asked: list[str] = []

    def canonical(name: str) -> str:
        asked.append(name)
        return known.setdefault(name.lower(), name)

    lead = contact("c1", "lead", None, "a@x.io", tags=["gold"])
    engine = make_engine([lead], canonical)
    engine.apply({"email": "a@x.io", "tags": ["vip", "Vip", "Gold", "fresh"]}, "leads", "Fresh")
    assert lead.tags == ["gold", "VIP", "fresh"]
    assert "vip" in asked and "Fresh" in asked
    outcome = engine.apply({"email": "b@x.io", "tags": ["FRESH"]}, "leads")
    assert outcome.contact is not None and outcome.contact.tags == ["fresh"]


# ---------------------------------------------------------------- one batch: records in order

BATCH = {
    "same-user-twice-created-then-updated": Case(
        [],
        [users(user_id="u1", email="a@x.io", name="A"), users(user_id="u1", name="B")],
        ["created:n1", "updated:n1"],
        {"n1": {"user_id": "u1", "email": "a@x.io", "name": "B"}},
    ),
    "same-email-only-user-twice": Case(
        [],
        [users(email="a@x.io", name="A"), users(email="A@X.IO", name="B")],
        ["created:n1", "updated:n1"],
        {"n1": {"user_id": None, "email": "A@X.IO", "name": "B"}},
    ),
    "same-lead-twice": Case(
        [],
        [leads(email="a@x.io", name="A"), leads(email="a@x.io", tags=["T"])],
        ["created:n1", "updated:n1"],
        {"n1": {"role": "lead", "name": "A", "tags": ["T"]}},
    ),
    "email-only-user-then-user_id-rule-2": Case(
        [],
        [users(email="a@x.io", name="A"), users(user_id="u1", email="a@x.io")],
        ["created:n1", "updated:n1"],
        {"n1": {"role": "user", "user_id": "u1", "name": "A"}},
    ),
    "lead-then-user-converts": Case(
        [],
        [leads(email="a@x.io", tags=["L"]), users(user_id="u1", email="a@x.io")],
        ["created:n1", "updated:n1"],
        {"n1": {"role": "user", "user_id": "u1", "tags": ["L"]}},
    ),
    "two-user_ids-same-email-then-ambiguous": Case(
        [],
        [
            users(user_id="u1", email="a@x.io"),
            users(user_id="u2", email="a@x.io"),
            users(email="a@x.io", name="X"),
        ],
        ["created:n1", "created:n2", "failed:ambiguous email: 2 contacts share"],
        {"n1": {"user_id": "u1", "name": None}, "n2": {"user_id": "u2", "name": None}},
    ),
    "lead-created-then-user-without-user_id-is-separate": Case(
        [],
        [leads(email="a@x.io"), users(email="a@x.io"), leads(email="a@x.io")],
        ["created:n1", "created:n2", "failed:ambiguous email: 2 contacts share"],
        {"n1": {"role": "lead"}, "n2": {"role": "user", "user_id": None}},
    ),
    "changed-email-found-under-new-email": Case(
        [contact("c1", "user", "u1", "old@x.io")],
        [users(user_id="u1", email="new@x.io"), users(email="NEW@x.io", name="N")],
        ["updated:c1", "updated:c1"],
        {"c1": {"email": "NEW@x.io", "name": "N"}},
    ),
    "changed-email-not-found-under-old-email": Case(
        [contact("c1", "user", "u1", "old@x.io")],
        [users(user_id="u1", email="new@x.io"), users(email="old@x.io", name="O")],
        ["updated:c1", "created:n1"],
        {
            "c1": {"email": "new@x.io", "name": None},
            "n1": {"user_id": None, "email": "old@x.io", "name": "O"},
        },
    ),
    "changed-email-seen-by-leads": Case(
        [contact("c1", "user", "u1", "old@x.io")],
        [
            users(user_id="u1", email="new@x.io"),
            leads(email="new@x.io", name="L"),
            leads(email="old@x.io"),
        ],
        ["updated:c1", "updated:c1", "created:n1"],
        {"c1": {"role": "user", "name": "L"}, "n1": {"role": "lead", "email": "old@x.io"}},
    ),
    "updated-lead-then-rule-2": Case(
        [contact("c1", "lead", None, "old@x.io")],
        [leads(email="old@x.io"), users(user_id="u1", email="old@x.io")],
        ["updated:c1", "updated:c1"],
        {"c1": {"role": "user", "user_id": "u1"}},
    ),
    "moving-away-ends-an-ambiguity": Case(
        [contact("c1", "user", "u1", "a@x.io"), contact("c2", "user", "u2", "a@x.io")],
        [users(user_id="u2", email="b@x.io"), users(email="a@x.io", name="A")],
        ["updated:c2", "updated:c1"],
        {"c1": {"name": "A"}, "c2": {"email": "b@x.io", "name": None}},
    ),
    "case-only-change-keeps-one-index-entry": Case(
        [contact("c1", "user", "u1", "a@x.io")],
        [users(user_id="u1", email="A@X.IO"), leads(email="a@x.io", name="L")],
        ["updated:c1", "updated:c1"],
        {"c1": {"email": "a@x.io", "name": "L"}},
    ),
}


@table(BATCH)
def test_batch_order(case: Case) -> None:
    run_case(case)


def test_changed_email_is_reindexed() -> None:
    c1 = contact("c1", "user", "u1", "Old@x.io")
    engine = make_engine([c1])
    engine.apply({"user_id": "u1", "email": "New@x.io"}, "users")
    assert engine.index.with_email("old@x.io") == []
    assert engine.index.with_email("new@X.IO") == [c1]
    engine.apply({"user_id": "u1", "email": "NEW@x.io"}, "users")
    assert engine.index.with_email("new@x.io") == [c1]
    assert c1.email == "NEW@x.io"


def test_changed_records_every_touched_contact() -> None:
    engine = make_engine(
        [contact("c1", "user", "u1", "a@x.io"), contact("c2", "lead", None, "b@x.io")]
    )
    engine.apply({"user_id": "u1", "name": "A"}, "users")
    engine.apply({"email": "z@x.io"}, "leads")
    engine.apply({"name": "nobody"}, "leads")
    assert list(engine.changed) == ["c1", "n1"]
    assert all(c.updated_at == NOW for c in engine.changed.values())
    assert engine.index.by_id["c2"].updated_at == EARLIER


# ---------------------------------------------------------------- property: reference model

# The model reads SPEC §2.1 word by word over a plain list of dicts: no index, linear scans.


def _same_email(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def model_apply(
    people: list[dict[str, Any]], record: dict[str, Any], kind: str, tag: str | None
) -> tuple[str, int | None]:
    """Apply one record to `people` in place; returns (result, position of the contact)."""
    email = record.get("email")
    user_id = record.get("user_id")

    def update(i: int) -> tuple[str, int | None]:
        person = people[i]
        if email is not None:
            person["email"] = email
        if "name" in record:
            person["name"] = record["name"]
        for name in [*(record.get("tags") or []), *([tag] if tag else [])]:
            if name.lower() not in [t.lower() for t in person["tags"]]:
                person["tags"].append(name)
        return "updated", i

    def create(role: str) -> tuple[str, int | None]:
        people.append(
            {
                "role": role,
                "user_id": user_id if role == "user" else None,
                "email": email,
                "name": None,
                "tags": [],
            }
        )
        return "created", update(len(people) - 1)[1]

    if kind == "leads":
        if email is None:
            return "failed", None
        matches = [i for i, p in enumerate(people) if _same_email(p["email"], email)]
        if len(matches) > 1:
            return "failed", None
        if len(matches) == 1:
            return update(matches[0])
        return create("lead")

    if user_id is not None:
        # rule 1
        holders = [
            i for i, p in enumerate(people) if p["role"] == "user" and p["user_id"] == user_id
        ]
        if holders:
            return update(holders[0])
        # rule 2
        anonymous = [
            i
            for i, p in enumerate(people)
            if p["user_id"] is None and _same_email(p["email"], email)
        ]
        if len(anonymous) == 1:
            people[anonymous[0]]["user_id"] = user_id
            people[anonymous[0]]["role"] = "user"
            return update(anonymous[0])
        # rule 3
        return create("user")

    # rule 4
    if email is None:
        return "failed", None
    same = [
        i for i, p in enumerate(people) if p["role"] == "user" and _same_email(p["email"], email)
    ]
    if len(same) > 1:
        return "failed", None
    if len(same) == 1:
        return update(same[0])
    return create("user")


USER_IDS = ["u1", "u2", "u3"]
EMAILS = ["a@x.io", "A@x.io", "a@X.IO", "b@x.io", "B@x.io", "c@x.io"]
NAMES = ["Ann", "Bob", None]
TAG_NAMES = ["VIP", "vip", "Gold"]


@st.composite
def initial_people(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Contacts satisfying the invariants: user_ids unique among users, leads have none."""
    people: list[dict[str, Any]] = []
    free_ids = list(USER_IDS)
    for _ in range(draw(st.integers(0, 5))):
        role = draw(st.sampled_from(["user", "lead"]))
        user_id = None
        if role == "user" and free_ids and draw(st.booleans()):
            user_id = free_ids.pop(draw(st.integers(0, len(free_ids) - 1)))
        email_pool = EMAILS if role == "lead" or user_id is None else [*EMAILS, None]
        people.append(
            {
                "role": role,
                "user_id": user_id,
                "email": draw(st.sampled_from(email_pool)),
                "name": draw(st.sampled_from(NAMES)),
                "tags": draw(st.lists(st.sampled_from(["VIP", "Gold"]), max_size=2, unique=True)),
            }
        )
    return people


@st.composite
def records(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["users", "users", "leads"]))
    record: dict[str, Any] = {}
    if kind == "users" and draw(st.booleans()):
        record["user_id"] = draw(st.sampled_from(USER_IDS))
    email = draw(st.sampled_from([*EMAILS, None]))
    if email is not None:
        record["email"] = email
    elif draw(st.booleans()):
        record["email"] = None
    if draw(st.booleans()):
        record["name"] = draw(st.sampled_from(NAMES))
    if draw(st.booleans()):
        record["tags"] = draw(st.lists(st.sampled_from(TAG_NAMES), max_size=3))
    return kind, record


def _engine_state(index: Index) -> list[tuple[Any, ...]]:
    return [(c.role, c.user_id, c.email, c.name, list(c.tags)) for c in index.by_id.values()]


def _model_state(people: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["role"], p["user_id"], p["email"], p["name"], p["tags"]) for p in people]


@settings(max_examples=600, deadline=None)
@given(
    initial_people(),
    st.lists(records(), max_size=12),
    st.sampled_from([None, "imp", "VIP"]),
)
def test_engine_matches_reference_model(
    people: list[dict[str, Any]], batch: list[tuple[str, dict[str, Any]]], tag: str | None
) -> None:
    contacts = [
        contact(f"c{i}", p["role"], p["user_id"], p["email"], name=p["name"], tags=list(p["tags"]))
        for i, p in enumerate(people, 1)
    ]
    engine = make_engine(contacts)
    model = [{**p, "tags": list(p["tags"])} for p in people]
    for kind, record in batch:
        outcome = engine.apply(dict(record), kind, tag)  # type: ignore[arg-type]
        expected, position = model_apply(model, record, kind, tag)
        assert outcome.result == expected, (kind, record)
        ids = list(engine.index.by_id)
        if position is None:
            assert outcome.contact is None and outcome.errors
        else:
            assert outcome.contact is not None
            assert ids.index(outcome.contact.id) == position, (kind, record)
        assert _engine_state(engine.index) == _model_state(model), (kind, record)
    # The index agrees with the contacts it holds.
    for c in engine.index.by_id.values():
        if c.email is not None:
            assert c in engine.index.with_email(c.email)
        if c.user_id is not None:
            assert engine.index.by_user_id[c.user_id] is c
    for key, bucket in engine.index.by_email.items():
        assert all(c.email is not None and c.email.lower() == key for c in bucket.values())
