"""The identity engine against SPEC §2.1: a table per rule, then leads, blank cells and tags.

Pure: every test builds an in-memory :class:`Index`, runs records through an :class:`Engine` and
inspects the contacts and outcomes. Contacts given in a case have ids ``c1``, ``c2``…; contacts the
engine creates get ``n1``, ``n2``… in order of creation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.identity import Contact
from tests.unit.shared._identity_helpers import (
    NOW,
    Case,
    contact,
    leads,
    make_engine,
    run_case,
    table,
    users,
)

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
