"""Vendor records and bulk-API records into identity-engine records (services/parser/contacts)."""

from __future__ import annotations

import pytest

from services.parser.contacts import (
    MAX_ATTRIBUTES,
    JsonValidator,
    api_contact,
    api_role,
    mailchimp_contact,
    mixpanel_attribute_name,
    mixpanel_contact,
)
from tests.support.vendors import mailchimp_member, mixpanel_profile


def test_mailchimp_member_maps_per_spec() -> None:
    member = mailchimp_member(7, "l1", ip_signup="203.0.113.9", timestamp_signup="")
    contact, errors = mailchimp_contact(member)
    assert errors == []
    assert contact == {
        "email": "member7@example.com",
        "name": "First7 Last7",
        "phone": "+1 415 555 0007",
        "last_seen_ip": "203.0.113.9",  # ip_signup wins over ip_opt
        "signed_up_at": "2023-01-05T14:03:22+00:00",  # no timestamp_signup: timestamp_opt
        "tags": ["Customer"],
    }


def test_mailchimp_blanks_leave_fields_alone() -> None:
    member = mailchimp_member(1, "l1", ip_opt="", timestamp_opt="", tags=[])
    member["merge_fields"] = {"FNAME": " ", "LNAME": "", "PHONE": ""}
    contact, _ = mailchimp_contact(member)
    assert contact == {"email": "member1@example.com"}
    assert mailchimp_contact([1]) == (None, ["the member is not a JSON object"])


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("$city", "city"),
        ("plan", "plan"),
        ("$user_id", "mixpanel_user_id"),
        ("email", "mixpanel_email"),
        ("a.b$c", "a_b_c"),
        ("$", "property"),
        ("x" * 300, "x" * 181),
    ],
)
def test_mixpanel_attribute_names(key: str, name: str) -> None:
    assert mixpanel_attribute_name(key) == name


def test_mixpanel_profile_maps_per_spec() -> None:
    profile = mixpanel_profile(3, **{"$phone": "+49 30 1234567", "city": "Rome", "empty": ""})
    contact, errors = mixpanel_contact(profile, "users")
    assert errors == []
    assert contact == {
        "user_id": "mp-3",
        "email": "person3@example.com",
        "name": "Ann3 Lee3",
        "signed_up_at": "2022-03-04T05:06:07",
        "last_seen_at": "2024-01-02T03:04:05",
        "phone": "+49 30 1234567",
        "custom_attributes": {
            "city": "Rome",  # the plain property wins over $city
            "timezone": "Europe/Berlin",
            "plan": "pro",
            "seats": 4,
            "beta": True,
        },
    }


def test_mixpanel_anonymous_ids_and_leads_have_no_user_id() -> None:
    anonymous = {"$distinct_id": "$device:abc", "$properties": {"$email": "a@example.com"}}
    assert mixpanel_contact(anonymous, "users")[0] == {"email": "a@example.com"}
    known = {"$distinct_id": 42, "$properties": {"$email": "a@example.com", "$name": "Al"}}
    assert mixpanel_contact(known, "users")[0] == {
        "user_id": "42",
        "email": "a@example.com",
        "name": "Al",
    }
    assert "user_id" not in mixpanel_contact(known, "leads")[0]
    assert mixpanel_contact({"$properties": [1]}, "users") == (
        None,
        ["$properties is not a JSON object"],
    )


def test_mixpanel_lists_and_objects_become_text() -> None:
    profile = {"$distinct_id": "d", "$properties": {"langs": ["en", "de"], "geo": {"a": 1}}}
    contact, _ = mixpanel_contact(profile, "users")
    assert contact["custom_attributes"] == {"langs": "en, de", "geo": '{"a":1}'}


def test_api_records() -> None:
    assert api_role({"role": "lead"}) == "lead"
    assert api_role({"role": "boss"}) == "user"
    assert api_role("x") == "user"
    assert api_contact([]) == (None, ["the record is not a JSON object describing one contact"])
    assert api_contact({"role": "lead", "user_id": "u"})[1] == [
        "a lead has no user_id: send role 'user' to create or update a user"
    ]


def test_validator_fixes_types_of_new_attributes_on_first_value() -> None:
    validator = JsonValidator({"Plan": "string"})
    record, errors = validator(
        {"user_id": "u1", "signed_up_at": 0, "custom_attributes": {"plan": "pro", "seats": 2}}
    )
    assert errors == []
    assert record == {
        "user_id": "u1",
        "signed_up_at": "1970-01-01T00:00:00+00:00",
        "custom": {"Plan": "pro", "seats": 2},
    }
    assert validator.take_new() == {"seats": "integer"}
    assert validator.take_new() == {}
    record, errors = validator({"user_id": "u2", "custom_attributes": {"seats": "many"}})
    assert record is None and "integer" in errors[0]


def test_validator_settles_on_the_database_type() -> None:
    validator = JsonValidator({})
    validator({"user_id": "u1", "custom_attributes": {"score": 1}})
    # Another import created "Score" as a float first.
    assert validator.settle({"score": ("Score", "float")}) is True
    record, _ = validator({"user_id": "u1", "custom_attributes": {"score": 1.5}})
    assert record is not None and record["custom"] == {"Score": 1.5}
    assert validator.settle({"Score": ("Score", "float")}) is False


def test_validator_keeps_the_attribute_limit() -> None:
    validator = JsonValidator({f"a{i}": "string" for i in range(MAX_ATTRIBUTES - 1)})
    assert validator({"user_id": "u", "custom_attributes": {"new1": "x"}})[0] is not None
    record, errors = validator({"user_id": "u", "custom_attributes": {"new2": "x"}})
    assert record is None and "at most 250 custom attributes" in errors[0]


def test_json_contacts_skip_invalid_optional_values_when_asked() -> None:
    from shared.records import contact_record

    record, errors, _ = contact_record(
        {"email": "a@x.io", "phone": "020 7946 0958", "custom_attributes": {"n": "x"}},
        {"n": "integer"},
        skip_invalid=True,
    )
    assert errors == [] and record is not None
    assert record["email"] == "a@x.io" and "phone" not in record and "custom" not in record
    assert [w.split(":")[1].strip() for w in record["_warnings"]] == [
        "phone",
        "custom attribute 'n' is integer",
    ]
    strict, errors, _ = contact_record({"email": "a@x.io", "phone": "020 7946 0958"}, {})
    assert strict is None and errors[0].startswith("phone: ")
