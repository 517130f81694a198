"""The diff each identity rule produces (SPEC §6.1): what the engine says a record did, turned
into diff entries by shared.diff — created, updated with old and new values, unchanged, a lead
converted, ambiguous → failed, and the same person twice in one batch."""

from __future__ import annotations

from typing import Any

import orjson

from shared import diff, problems
from tests.unit.shared._identity_helpers import NOW, contact, make_engine


def entries(
    contacts: list[Any], records: list[dict[str, Any]], kind: str = "users", tag: str | None = None
) -> dict[int, dict[str, Any]]:
    """Apply ``records`` (numbered from 1) and return the diff entries by row."""
    engine = make_engine(contacts)
    numbered = [{**r, "_row": i} for i, r in enumerate(records, start=1)]
    outcomes = [engine.apply(r, kind, tag) for r in numbered]  # type: ignore[arg-type]
    failures = [
        {"row": r["_row"], "errors": list(o.errors)}
        for r, o in zip(numbered, outcomes, strict=True)
        if o.result == "failed"
    ]
    chunk = diff.build(0, numbered, outcomes, failures)
    return {e["row"]: e for e in diff.entries(diff.pack(chunk.entries))}


def test_created_lists_every_value_it_was_created_with() -> None:
    got = entries(
        [],
        [{"user_id": "u1", "email": "a@x.io", "name": "Ann", "custom": {"plan": "pro"}}],
        tag="T",
    )
    assert got[1] == {
        "row": 1,
        "result": "created",
        "contact_id": "n1",
        "matched_by": None,
        "changes": {
            "user_id": {"old": None, "new": "u1"},
            "email": {"old": None, "new": "a@x.io"},
            "name": {"old": None, "new": "Ann"},
            "custom.plan": {"old": None, "new": "pro"},
            "tags": {"added": ["T"]},
        },
        "errors": [],
        "warnings": [],
    }


def test_updated_by_user_id_lists_old_and_new_of_what_changed_only() -> None:
    ann = contact("c1", "user", "u1", "a@x.io", name="Ann", phone="+441", custom={"plan": "basic"})
    got = entries(
        [ann],
        [
            {
                "user_id": "u1",
                "email": "A@x.io",
                "name": "Ann",
                "phone": None,
                "custom": {"plan": "pro"},
            }
        ],
    )
    assert got[1]["result"] == "updated" and got[1]["matched_by"] == "user_id"
    assert got[1]["changes"] == {
        "email": {"old": "a@x.io", "new": "A@x.io"},
        "phone": {"old": "+441", "new": None},
        "custom.plan": {"old": "basic", "new": "pro"},
    }


def test_a_record_that_changes_nothing_is_unchanged() -> None:
    ann = contact("c1", "user", "u1", "a@x.io", name="Ann", tags=["T"])
    got = entries([ann], [{"email": "a@x.io", "name": "Ann"}], tag="t")  # the tag, another case
    assert got[1]["result"] == "unchanged" and got[1]["matched_by"] == "email"
    assert got[1]["changes"] == {}


def test_a_lead_gaining_a_user_id_is_a_lead_conversion() -> None:
    lee = contact("c1", "lead", None, "lee@x.io")
    got = entries([lee], [{"user_id": "u9", "email": "lee@x.io"}])
    assert got[1]["matched_by"] == "lead_conversion"
    assert got[1]["changes"] == {
        "user_id": {"old": None, "new": "u9"},
        "role": {"old": "lead", "new": "user"},
    }


def test_an_email_only_user_gaining_a_user_id_matched_by_email() -> None:
    eve = contact("c1", "user", None, "eve@x.io")
    got = entries([eve], [{"user_id": "u9", "email": "eve@x.io"}])
    assert got[1]["matched_by"] == "email"
    assert got[1]["changes"] == {"user_id": {"old": None, "new": "u9"}}


def test_ambiguous_email_fails_with_its_reason() -> None:
    twins = [contact("c1", "user", "t1", "t@x.io"), contact("c2", "user", "t2", "t@x.io")]
    got = entries(twins, [{"email": "t@x.io", "name": "Who"}])
    assert got[1]["result"] == "failed" and got[1]["contact_id"] is None
    assert got[1]["errors"][0].startswith("ambiguous email: 2 contacts share 't@x.io'")
    assert problems.cause(got[1]["errors"][0]) == "identity.ambiguous_email"


def test_a_lead_import_matching_a_user_updates_the_user() -> None:
    ann = contact("c1", "user", "u1", "a@x.io")
    got = entries([ann], [{"email": "a@x.io", "name": "Ann"}], kind="leads")
    assert got[1]["matched_by"] == "email" and got[1]["changes"] == {
        "name": {"old": None, "new": "Ann"}
    }


def test_the_same_person_twice_in_one_batch() -> None:
    got = entries(
        [],
        [
            {"user_id": "u1", "email": "a@x.io", "name": "First"},
            {"user_id": "u1", "name": "Second"},
        ],
    )
    assert got[1]["result"] == "created"
    assert got[1]["changes"]["name"] == {"old": None, "new": "First"}  # as created, not as now
    assert got[2]["result"] == "updated" and got[2]["contact_id"] == got[1]["contact_id"]
    assert got[2]["changes"] == {"name": {"old": "First", "new": "Second"}}


def test_tallies_count_set_changed_and_cleared_per_field() -> None:
    ann = contact("c1", "user", "u1", "a@x.io", name="Ann", phone="+441")
    engine = make_engine([ann])
    records = [
        {"user_id": "u1", "name": "Anne", "phone": None, "_row": 1},
        {"user_id": "u2", "email": "b@x.io", "name": "Bob", "_row": 2},
    ]
    outcomes = [engine.apply(r, "users") for r in records]
    chunk = diff.build(
        3, records, outcomes, [{"row": 3, "errors": ["phone: '1' is not a phone number"]}]
    )
    assert (chunk.created, chunk.updated, chunk.unchanged, chunk.failed) == (1, 1, 0, 1)
    assert (chunk.first_row, chunk.last_row) == (1, 3)
    assert diff.field_summary([chunk.fields]) == {
        "email": {"set": 1, "changed": 0, "cleared": 0},
        "name": {"set": 1, "changed": 1, "cleared": 0},
        "phone": {"set": 0, "changed": 0, "cleared": 1},
        "user_id": {"set": 1, "changed": 0, "cleared": 0},
    }
    [problem] = diff.problem_summary([chunk.problems])
    assert problem["cause"] == "phone.invalid" and problem["first_row"] == 3


def test_entries_are_compact_and_dates_travel_as_utc_text() -> None:
    engine = make_engine([])
    record = {"email": "a@x.io", "signed_up_at": NOW, "_row": 1}
    chunk = diff.build(0, [record], [engine.apply(record, "users", "T")], [])
    stored = [1, "c", "n1", None, {**record, "signed_up_at": "2024-05-01T12:00:00Z"}, None, None]
    assert orjson.loads(chunk.entries) == [[*stored, ["T"]]]  # a created one: its record, tags


def test_problem_causes_and_their_wording() -> None:
    tally = {
        "e:" + problems.cause("phone: '020 7946 0958' has no country calling code: write it…"): (
            101,
            4,
        ),
        "e:" + problems.cause("'foo@' is not a valid email address: it has nothing after '@'"): (
            4,
            2,
        ),
        "w:" + problems.cause(problems.DUPLICATE_WARNING): (1, 9),
        "w:" + problems.cause(problems.left_out("signed_up_at: 'x' is not a date: use …")): (2, 7),
        "e:" + problems.cause("custom attribute 'plan' is integer: 'x' is not a whole number"): (
            1,
            1,
        ),
    }
    described = {p["cause"]: p for p in problems.describe(tally)}
    assert described["phone.no_country"]["message"] == "101 phone numbers have no country code"
    assert "default country" in described["phone.no_country"]["fix"]
    assert described["email.invalid"]["message"] == "4 emails are not valid"
    assert described["file.duplicate"]["message"] == "1 person appears twice in the file"
    assert described["signed_up_at.invalid"]["level"] == "warning"
    assert described["signed_up_at.invalid"]["message"] == "2 Sign-up date values are not valid"
    assert described["custom.plan.invalid"]["message"] == (
        "1 value of custom attribute 'plan' does not fit its type"
    )
    assert [p["count"] for p in problems.describe(tally)] == [101, 4, 2, 1, 1]
