"""Intercom's bodies and search language as Usher reads them (services/upload/intercom.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.upload import intercom
from shared.errors import InvalidValue
from shared.filters import FilterContext, matches
from tests.unit.shared.filters._helpers import person

TYPES = {"plan": "string", "seats": "integer", "Renewal": "date"}
TAGS = {"17": "VIP", "18": "beta"}
CTX = FilterContext(attribute_types=TYPES, segments={}, now=datetime(2024, 6, 1, tzinfo=UTC))
MAY_29 = 1_716_940_800  # 2024-05-29T00:00:00Z


def hits(query: dict[str, object], contact: dict[str, object]) -> bool:
    return matches(intercom.search_filter(query, TYPES, TAGS), contact, CTX)


def test_a_contact_body_becomes_usher_fields() -> None:
    read = intercom.contact_input(
        {
            "role": "user",
            "external_id": "u-1",
            "email": "a@x.io",
            "signed_up_at": MAY_29,
            "custom_attributes": {"plan": None},
            "avatar": "https://x.io/a.png",
        }
    )
    assert read.role == "user" and not read.errors
    assert read.contact == {
        "user_id": "u-1",
        "email": "a@x.io",
        "signed_up_at": MAY_29,
        "custom_attributes": {"plan": None},
    }
    assert read.warnings == ["'avatar' is not a contact field Usher keeps: left out"]
    assert intercom.contact_input({"external_id": None}).contact == {}  # never cleared
    assert intercom.contact_input({"role": "admin"}).errors == [
        "role must be 'user' or 'lead', not 'admin'"
    ]
    assert intercom.contact_input([1]).errors


def test_a_contact_row_as_intercoms_object() -> None:
    row = {
        "id": "c_1",
        "role": "user",
        "user_id": "u-1",
        "email": "a@x.io",
        "phone": None,
        "name": "Ann",
        "created_at": datetime.fromtimestamp(MAY_29, UTC),
        "updated_at": datetime.fromtimestamp(MAY_29 + 60, UTC),
        "signed_up_at": None,
        "last_seen_at": datetime.fromtimestamp(MAY_29 + 5, UTC),
        "tags": ["VIP"],
        "custom": {"Renewal": "2024-05-29T00:00:00+00:00", "plan": "pro"},
    }
    obj = intercom.contact_object(row, "ws_1", {"vip": 17}, TYPES)
    assert (obj["type"], obj["external_id"], obj["workspace_id"]) == ("contact", "u-1", "ws_1")
    assert (obj["created_at"], obj["updated_at"], obj["signed_up_at"]) == (
        MAY_29,
        MAY_29 + 60,
        None,
    )
    assert obj["last_seen_at"] == MAY_29 + 5
    assert obj["custom_attributes"] == {"Renewal": MAY_29, "plan": "pro"}  # dates in seconds
    assert obj["tags"] == {
        "type": "list",
        "data": [{"type": "tag", "id": "17", "name": "VIP", "url": "/tags/17"}],
        "url": "/contacts/c_1/tags",
        "total_count": 1,
        "has_more": False,
    }


def test_pages_next_only_when_there_is_more() -> None:
    last = intercom.list_object([], 3, 50, 1, None)
    assert last["pages"] == {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1}
    more = intercom.list_object([1, 2], 5, 2, 1, "CUR")
    assert more["pages"]["next"] == {"page": 2, "starting_after": "CUR", "per_page": 2}
    assert more["pages"]["total_pages"] == 3
    assert intercom.per_page(None) == 50 and intercom.per_page("150") == 150
    for bad in (0, 151, "x", True, 1.5):
        with pytest.raises(InvalidValue):
            intercom.per_page(bad)


def test_event_metadata_keeps_intercoms_typed_objects_readable() -> None:
    metadata = {
        "price": {"amount": 34999, "currency": "eur"},
        "article": {"url": "https://x.io/a", "value": "An article"},
        **{f"k{i}": i for i in range(9)},
    }
    body, warnings = intercom.event_body({"event_name": "e", "metadata": metadata})
    assert body["metadata"]["price"] == "349.99 EUR"
    assert body["metadata"]["article"] == "https://x.io/a"
    assert len(body["metadata"]) == 10
    assert warnings == [
        "metadata 'k8' left out: Intercom and Usher keep the first 10 keys of an event"
    ]
    assert intercom.event_body({"event_name": "e", "metadata": {"x": {"deep": 1}}})[0][
        "metadata"
    ] == {"x": {"deep": 1}}  # the events API's own check refuses it


@pytest.mark.parametrize(
    ("query", "contact", "expected"),
    [
        ({"field": "email", "operator": "=", "value": "A@x.io"}, person(email="a@x.io"), True),
        ({"field": "external_id", "operator": "!=", "value": "u1"}, person(), True),
        (
            {"field": "external_id", "operator": "IN", "value": ["u1", "u2"]},
            person(user_id="u2"),
            True,
        ),
        ({"field": "external_id", "operator": "NIN", "value": ["u1"]}, person(user_id="u1"), False),
        ({"field": "name", "operator": "~", "value": "nn"}, person(name="Ann"), True),
        ({"field": "name", "operator": "!~", "value": "nn"}, person(name="Ann"), False),
        ({"field": "name", "operator": "^", "value": "an"}, person(name="Ann"), True),
        ({"field": "email", "operator": "$", "value": "@x.io"}, person(email="a@x.io"), True),
        ({"field": "email_domain", "operator": "=", "value": "x.io"}, person(email="a@x.io"), True),
        ({"field": "role", "operator": "=", "value": "lead"}, person(), False),
        (
            {"field": "custom_attributes.seats", "operator": ">", "value": 2},
            person(custom={"seats": 3}),
            True,
        ),
        (
            {"field": "custom_attributes.SEATS", "operator": "<", "value": 2},
            person(custom={"seats": 3}),
            False,
        ),
        ({"field": "custom_attributes.nope", "operator": "=", "value": 1}, person(), False),
        ({"field": "tag_id", "operator": "=", "value": "17"}, person(tags=["vip"]), True),
        ({"field": "tag_id", "operator": "=", "value": "99"}, person(tags=["vip"]), False),
        ({"field": "tag_id", "operator": "NIN", "value": ["17", "18"]}, person(tags=["x"]), True),
        # times by UTC day
        (
            {"field": "signed_up_at", "operator": "=", "value": MAY_29 + 80_000},
            person(signed_up_at=datetime(2024, 5, 29, 1, tzinfo=UTC)),
            True,
        ),
        (
            {"field": "signed_up_at", "operator": ">", "value": MAY_29},
            person(signed_up_at=datetime(2024, 5, 29, 23, tzinfo=UTC)),
            False,
        ),
        (
            {"field": "signed_up_at", "operator": ">", "value": MAY_29},
            person(signed_up_at=datetime(2024, 5, 30, tzinfo=UTC)),
            True,
        ),
        (
            {"field": "signed_up_at", "operator": "<", "value": MAY_29 + 3600},
            person(signed_up_at=datetime(2024, 5, 28, 23, tzinfo=UTC)),
            True,
        ),
        (
            {"field": "signed_up_at", "operator": "<", "value": MAY_29 + 3600},
            person(signed_up_at=datetime(2024, 5, 29, tzinfo=UTC)),
            False,
        ),
        (
            {"field": "custom_attributes.Renewal", "operator": "=", "value": MAY_29},
            person(custom={"Renewal": "2024-05-29T08:00:00+00:00"}),
            True,
        ),
        (
            {
                "operator": "AND",
                "value": [
                    {"field": "role", "operator": "=", "value": "user"},
                    {
                        "operator": "OR",
                        "value": [
                            {"field": "email", "operator": "~", "value": "example.com"},
                            {"field": "external_id", "operator": "IN", "value": ["u-1"]},
                        ],
                    },
                ],
            },
            person(user_id="u-1"),
            True,
        ),
    ],
)
def test_search_means_what_intercom_means(query, contact, expected) -> None:  # type: ignore[no-untyped-def]
    assert hits(query, contact) is expected


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("email", "query must be an object"),
        ({"field": "email", "operator": "==", "value": "a"}, "is not one of =, !=, IN"),
        ({"field": "seats", "operator": "=", "value": 1}, "searchable: id, external_id"),
        ({"field": "signed_up_at", "operator": "~", "value": "2024"}, "is a time"),
        ({"field": "custom_attributes.seats", "operator": "~", "value": "1"}, "is not text"),
        ({"field": "external_id", "operator": "IN", "value": "u1"}, "non-empty list for IN"),
        ({"field": "email", "operator": "=", "value": ["a"]}, "one value for ="),
        ({"operator": "AND", "value": []}, "query.value must be a non-empty list"),
        ({"operator": "OR", "value": [{"field": "x"}]}, "query.value[0].operator"),
        ({"field": "signed_up_at", "operator": "=", "value": "soon"}, "query.value:"),
        ({"field": "tag_id", "operator": "~", "value": "1"}, "tag_id takes"),
    ],
)
def test_a_query_usher_cannot_run_says_what_to_change(query, says) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(intercom.SearchError, match=None) as caught:
        intercom.search_filter(query, TYPES, TAGS)
    assert says in str(caught.value)


def test_tag_ids_in_a_query() -> None:
    query = {
        "operator": "OR",
        "value": [
            {"field": "tag_id", "operator": "=", "value": 17},
            {
                "operator": "AND",
                "value": [{"field": "tag_id", "operator": "IN", "value": ["18", "19"]}],
            },
            {"field": "email", "operator": "=", "value": "17"},
        ],
    }
    assert intercom.tag_ids_in(query) == {"17", "18", "19"}
