"""shared.undo: one diff entry taken back, field by field, keeping what changed since."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.undo import plain, undo
from tests.unit.shared._identity_helpers import contact

T = datetime(2020, 1, 1, tzinfo=UTC)


def test_an_untouched_created_contact_is_deleted() -> None:
    c = contact("c1", "user", "u1", "a@x.io", name="Ann", tags=["T"], custom={"plan": "pro"})
    # As the diff stores a created contact: its record (as normalised), then its tags.
    record = {"user_id": "u1", "email": "a@x.io", "name": "Ann", "custom": {"plan": "pro"}}
    entry = [1, "c", "c1", None, {**record, "_row": 1, "phone": None}, None, None, ["T"]]
    assert undo(entry, c).action == "delete"


def test_a_created_contact_changed_since_or_with_events_is_kept() -> None:
    c = contact("c1", "user", "u1", "a@x.io", name="Changed")
    entry = [1, "c", "c1", None, {"user_id": "u1", "email": "a@x.io", "name": "Ann"}]
    done = undo(entry, c)
    assert done.action == "keep" and [k.field for k in done.kept] == ["name"]
    assert (
        done.kept[0].sentence()
        == "name: kept 'Changed', changed since the import (the import had 'Ann')"
    )
    same = contact("c1", "user", "u1", "a@x.io", name="Ann")
    assert [k.field for k in undo(entry, same, has_events=True).kept] == ["events"]


def test_an_update_gets_each_field_back_unless_changed_since() -> None:
    c = contact(
        "c1",
        "user",
        "u1",
        "a@x.io",
        name="Bob Two",
        phone="+1",
        signed_up_at=T,
        tags=["First", "Second"],
        custom={"plan": "gold", "seats": 3},
    )
    entry = [
        2,
        "u",
        "c1",
        "user_id",
        {
            "name": ["Bob", "Bob Two"],
            "phone": ["+2", "+3"],  # changed since to +1: kept
            "signed_up_at": [None, plain(T)],
            "custom.plan": ["basic", "gold"],
            "custom.seats": [None, 3],
            "tags": ["second"],
        },
    ]
    done = undo(entry, c)
    assert done.action == "revert" and [k.field for k in done.kept] == ["phone"]
    assert (c.name, c.phone, c.signed_up_at) == ("Bob", "+1", None)
    assert c.custom == {"plan": "basic"} and c.tags == ["First"]


def test_a_converted_lead_becomes_a_lead_again() -> None:
    c = contact("c1", "user", "u9", "l@x.io")
    entry = [3, "u", "c1", "lead_conversion", {"user_id": [None, "u9"], "role": ["lead", "user"]}]
    assert undo(entry, c).kept == []
    assert (c.role, c.user_id) == ("lead", None)


def test_a_contact_gone_since_is_a_conflict() -> None:
    done = undo([4, "u", "c1", "email", {"name": ["A", "B"]}], None)
    assert done.action == "keep" and done.kept[0].field == "contact"


def test_dates_restore_as_dates() -> None:
    later = datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    c = contact("c1", "user", "u1", last_seen_at=later)
    undo([5, "u", "c1", "user_id", {"last_seen_at": [plain(T), plain(later)]}], c)
    assert c.last_seen_at == T
