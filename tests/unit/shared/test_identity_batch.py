"""The identity engine on one batch (SPEC §2.1): records apply in order, each one finding what the
records before it created or changed, and the index follows every change."""

from __future__ import annotations

from tests.unit.shared._identity_helpers import (
    EARLIER,
    NOW,
    Case,
    contact,
    leads,
    make_engine,
    run_case,
    table,
    users,
)

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
