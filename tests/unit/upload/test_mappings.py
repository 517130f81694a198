"""Remembered mappings (SPEC §6.5): which uploads share a header set, and how a remembered
mapping is spelled for a new upload."""

from __future__ import annotations

from datetime import UTC, datetime

from services.upload import mappings


def test_header_sets_compare_trimmed_case_insensitively_in_any_order() -> None:
    key = mappings.header_key(["Email", "First Name", "Plan"])
    assert mappings.header_key([" plan", "EMAIL ", "first name"]) == key
    assert mappings.header_key(["Email", "First Name"]) != key
    assert mappings.header_key(["Email", "First Name", "Plan", "Seats"]) != key


def test_translate_spells_columns_as_the_new_upload_does() -> None:
    stored = {"email": "Email", "name": "First Name", "user_id": "Gone"}
    assert mappings.translate(stored, ["EMAIL", " first name "]) == {
        "email": "EMAIL",
        "name": " first name ",
    }


def test_custom_attributes_are_keyed_by_the_new_spelling() -> None:
    stored = {"Plan": "plan", "Gone": "gone"}
    assert mappings.translate_columns(stored, ["PLAN ", "Email"]) == {"PLAN ": "plan"}


def test_remembered_answer() -> None:
    row = {
        "id": "map_1",
        "import_id": "imp_1",
        "file_name": "week-12.csv",
        "used_at": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        "custom_attributes": {"Plan": "plan", "Seats": "seats"},
        "attribute_types": {"plan": "string", "seats": "integer"},
        "options": {"kind": "leads", "date_order": "MDY", "tag": "w12", "blank_values": "clear"},
    }
    answer = mappings.remembered_answer(row, ["plan", "email"])
    assert answer == {
        "id": "map_1",
        "import_id": "imp_1",
        "file_name": "week-12.csv",
        "used_at": "2026-11-30T09:00:00+00:00",
        "custom_attributes": {"plan": "plan"},
        "attribute_types": {"plan": "string"},
        "options": {
            "kind": "leads",
            "blank_values": "clear",
            "date_order": "MDY",
            "default_country": None,
        },
    }
