"""Validating one event of the events API (services/upload/event_input)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.upload.event_input import parse_event

BASE = {"event_name": "Signed Up", "created_at": "2024-01-02T03:04:05Z", "user_id": "u1"}


def test_a_valid_event() -> None:
    event, errors = parse_event(BASE | {"metadata": {"plan": "pro", "seats": 3, "x": None}})
    assert errors == [] and event is not None
    assert event.name == "signed up"
    assert event.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (event.by, event.key) == ("user_id", "u1")
    assert event.metadata == {"plan": "pro", "seats": 3, "x": None}


@pytest.mark.parametrize(
    ("person", "by", "key"),
    [
        ({"id": "c_1", "user_id": "u", "email": "a@b.co"}, "id", "c_1"),
        ({"user_id": 42, "email": "a@b.co"}, "user_id", "42"),
        ({"user_id": " ", "email": "A@B.co"}, "email", "a@b.co"),
        ({"email": " Ann@Example.COM "}, "email", "ann@example.com"),
    ],
)
def test_who(person: dict[str, Any], by: str, key: str) -> None:
    event, errors = parse_event({"event_name": "x", "created_at": 1} | person)
    assert errors == [] and event is not None
    assert (event.by, event.key) == (by, key)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"event_name": None}, "event_name is required"),
        ({"event_name": "  "}, "blank"),
        ({"created_at": None}, "created_at is required"),
        ({"created_at": "31/31/2020"}, "created_at"),
        ({"created_at": True}, "created_at must be"),
        ({"user_id": None}, "give user_id, email or id"),
        ({"user_id": "anonymous"}, "placeholder"),
        ({"user_id": None, "email": "nope"}, "nope"),
        ({"metadata": [1]}, "metadata must be an object"),
        ({"metadata": {f"k{i}": 1 for i in range(11)}}, "at most 10"),
        ({"metadata": {"a": {"b": 1}}}, "flat"),
        ({"metadata": {"a": "x" * 256}}, "256 characters"),
        ({"metadata": {"": 1}}, "metadata key"),
        ({"metadata": {"a": float("inf")}}, "finite"),
        ({"when": 1}, "unknown field 'when'"),
    ],
)
def test_problems(change: dict[str, Any], words: str) -> None:
    event, errors = parse_event(BASE | change)
    assert event is None
    assert any(words in e for e in errors), errors


def test_not_an_object() -> None:
    assert parse_event([1])[0] is None
