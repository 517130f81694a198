"""What a Segment message means for Usher (services/upload/segment.py, SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.upload import segment

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def read(raw: object, sent_at: datetime | None = None) -> segment.Message:
    return segment.read(0, raw, sent_at, NOW)


def test_identify_with_a_user_id_is_a_user() -> None:
    m = read(
        {
            "type": "identify",
            "messageId": "m1",
            "userId": 12345,
            "anonymousId": None,
            "traits": {
                "email": "ada@example.com",
                "firstName": "Ada",
                "last_name": "Lovelace",
                "phone": "+15555550100",
                "createdAt": "2023-01-02T03:04:05",
                "plan": "pro",
                "seats": 3,
                "address": {"city": "London"},
                "bad.name": 1,
                "tags": ["vip", "beta"],
            },
        }
    )
    assert (m.message_id, m.kind, m.errors) == ("m1", "users", [])
    assert m.contact == {
        "user_id": "12345",
        "email": "ada@example.com",
        "phone": "+15555550100",
        "signed_up_at": "2023-01-02T03:04:05",
        "tags": ["vip", "beta"],
        "name": "Ada Lovelace",
        "custom_attributes": {"plan": "pro", "seats": 3},
    }
    assert m.warnings[0] == "trait 'address' is an object or a list: not kept"
    assert m.warnings[1].startswith("trait 'bad.name' not kept: ")


def test_a_name_trait_wins_over_its_parts() -> None:
    m = read({"type": "identify", "userId": "u", "traits": {"name": "A L", "firstName": "X"}})
    assert m.contact == {"user_id": "u", "name": "A L"}


def test_an_anonymous_identify_with_an_email_is_a_lead() -> None:
    m = read(
        {"type": "identify", "userId": None, "anonymousId": "a1", "traits": {"email": "v@x.io"}}
    )
    assert (m.kind, m.contact) == ("leads", {"email": "v@x.io"})
    nobody = read({"type": "identify", "anonymousId": "a1", "traits": {"plan": "pro"}})
    assert nobody.errors == [
        "an identify without userId needs traits.email: the person is then a lead"
    ]


def test_track_keeps_its_timestamp_corrected_for_the_client_clock() -> None:
    sent = NOW + timedelta(seconds=30)  # the client's clock runs 30 s ahead
    m = read(
        {
            "type": "track",
            "userId": "u-1",
            "event": "Order Completed",
            "properties": {"order_id": "o-9", "revenue": 12.5},
            "timestamp": "2024-05-29T16:26:40.000+00:00",
        },
        sent,
    )
    assert m.errors == []
    assert m.event is not None
    assert m.event.name == "order completed"  # event names are normalised (SPEC §2.2)
    assert m.event.created_at == datetime(2024, 5, 29, 16, 26, 10, tzinfo=UTC)
    assert (m.event.by, m.event.key) == ("user_id", "u-1")
    assert m.event.metadata == {"order_id": "o-9", "revenue": 12.5}


def test_track_problems() -> None:
    anonymous = read({"type": "track", "anonymousId": "a1", "event": "Viewed"})
    assert "a track needs the userId of a person" in anonymous.errors[0]
    nameless = read({"type": "track", "userId": "u"})
    assert any("event is required" in e for e in nameless.errors), nameless.errors
    late = read({"type": "track", "userId": "u", "event": "x", "timestamp": "soon"})
    assert late.errors[0].startswith("timestamp: 'soon' is not a date")


def test_other_types_are_ignored_and_unknown_ones_fail() -> None:
    for kind in ("alias", "group", "page", "screen"):
        assert read({"type": kind, "userId": "u"}).ignored
    odd = read({"type": "purchase"})
    assert odd.errors == [
        "type 'purchase' is not a Segment message type"
        " (identify, track, alias, group, page, screen)"
    ]
    assert read(["not", "an", "object"]).errors == ["a message is a JSON object with a type"]
