"""Intercom's official SDK (python-intercom 5.0.1), unmodified, pointed at Usher's ``/intercom``
base URL (SPEC §7, issue 18): create, find, search, update, tag, event, merge, delete; the 409
of a duplicate create in Intercom's words; the 404 of an event for nobody; search with AND/OR,
IN and the other operators, paged through the body; live messages; the history entry."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from intercom import Intercom
from intercom.core.api_error import ApiError
from intercom.errors import UnauthorizedError

from tests.support.api import Api

DAY = 86_400
MAY_29 = 1_716_940_800  # 2024-05-29T00:00:00Z


def intercom_client(base_url: str, token: str) -> Intercom:
    return Intercom(base_url=f"{base_url}/intercom", token=token)


@pytest.fixture
def api(services) -> Api:
    return Api.new_workspace(services.base_url, "intercom")


@pytest.fixture
def client(services, api: Api) -> Intercom:
    return intercom_client(services.base_url, api.token)


def import_users(client: Intercom, users: list[dict[str, Any]]) -> dict[str, str]:
    """The migration script a user would write: create each person; when Intercom says one
    exists already, read its id from the message and update that one instead."""
    ids: dict[str, str] = {}
    for user in users:
        try:
            contact = client.contacts.create(request=user)
        except ApiError as exc:
            if exc.status_code != 409:
                raise
            message = exc.body["errors"][0]["message"]
            existing = re.search(r"id=(\S+)", message)
            assert existing is not None, message
            fields = {k: v for k, v in user.items() if k != "role"}
            contact = client.contacts.update(existing.group(1), **fields)
        ids[user.get("external_id") or user["email"]] = contact.id
    return ids


def test_the_migration_script(services, api: Api, client: Intercom) -> None:
    users = [
        {
            "role": "user",
            "external_id": "u-1",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": "+15555550100",
            "signed_up_at": MAY_29,
            "last_seen_at": MAY_29 + DAY,
            "custom_attributes": {"plan": "pro", "seats": 3},
        },
        {"role": "user", "external_id": "team/b@c d", "email": "bob@example.com", "name": "Bob"},
        {"email": "carol@example.com", "name": "Carol"},  # no role: a user
        {"role": "user", "external_id": "u-1", "email": "ada@example.com", "name": "Ada L."},
    ]
    ids = import_users(client, users)
    assert len(set(ids.values())) == 3  # the fourth updated the first
    ada = client.contacts.find(ids["u-1"])
    assert (ada.external_id, ada.role, ada.email, ada.name) == (
        "u-1",
        "user",
        "ada@example.com",
        "Ada L.",
    )
    assert (ada.signed_up_at, ada.last_seen_at) == (MAY_29, MAY_29 + DAY)
    assert ada.custom_attributes == {"plan": "pro", "seats": 3}
    assert isinstance(ada.created_at, int)
    carol = client.contacts.find(ids["carol@example.com"])
    assert (carol.role, carol.external_id) == ("user", None)

    bob = client.contacts.show_contact_by_external_id("team/b@c d")  # a slash, not encoded
    assert bob.id == ids["team/b@c d"]

    [found] = list(
        client.contacts.search(
            query={"field": "email", "operator": "=", "value": "ADA@example.com"}
        )
    )
    assert found.id == ada.id

    # Usher's own API sees the same people, under the same identity rules.
    [same] = api.all_users(user_id="u-1")
    assert (same["id"], same["name"], same["phone"]) == (ada.id, "Ada L.", "+15555550100")

    updated = client.contacts.update(ada.id, name=None, custom_attributes={"plan": None})
    assert updated.name is None and updated.custom_attributes == {"seats": 3}

    entry = api.day_entry("intercom")
    assert entry is not None and entry["file_name"].startswith("Intercom API ")
    assert {k: entry["counts"][k] for k in ("created", "updated", "failed")} == {
        "created": 3,
        "updated": 2,
        "failed": 1,  # the duplicate create, answered 409
    }
    log = api.pages("/api/ingestion", source="intercom")
    assert [m["type"] for m in log][:2] == ["update", "update"]
    [conflict] = api.pages("/api/ingestion-errors", source="intercom")
    assert conflict["type"] == "create" and conflict["outcome"] == "failed"
    assert conflict["problems"] == [
        f"A contact matching those details already exists with id={ada.id}"
    ]


def test_a_duplicate_create_is_a_409_in_intercoms_words(client: Intercom) -> None:
    first = client.contacts.create(
        request={"role": "user", "external_id": "d-1", "email": "d@example.com"}
    )
    for again in (
        {"role": "user", "external_id": "d-1"},  # the same user_id
        {"email": "D@example.com"},  # a user with that email, without user_id
    ):
        with pytest.raises(ApiError) as caught:
            client.contacts.create(request=again)
        assert caught.value.status_code == 409
        body = caught.value.body
        assert body["type"] == "error.list" and body["request_id"]
        assert body["errors"] == [
            {
                "code": "conflict",
                "message": f"A contact matching those details already exists with id={first.id}",
            }
        ]
    # Another user_id with the same email is another user (they share the email).
    other = client.contacts.create(
        request={"role": "user", "external_id": "d-2", "email": "d@example.com"}
    )
    assert other.id != first.id


def test_leads_tags_events_merge_and_delete(services, api: Api, client: Intercom) -> None:
    lead = client.contacts.create(
        request={"role": "lead", "email": "visitor@example.com", "name": "V"}
    )
    assert lead.role == "lead"
    user = client.contacts.create(
        request={"role": "user", "external_id": "m-1", "email": "m@example.com"}
    )

    vip = client.tags.create(request={"name": "VIP"})
    assert (vip.type, vip.name) == ("tag", "VIP")
    assert client.tags.create(request={"name": "vip"}).id == vip.id  # the first spelling wins
    tagged = client.tags.tag_contact(contact_id=user.id, tag_id=vip.id)
    assert tagged.id == vip.id
    beta = client.tags.create(request={"name": "beta", "users": [{"id": user.id}, {"id": lead.id}]})
    assert sorted(t.name for t in client.contacts.list_attached_tags(user.id).data) == [
        "VIP",
        "beta",
    ]
    assert [t.name for t in client.contacts.find(user.id).tags.data] == ["VIP", "beta"]
    assert {t.name for t in client.tags.list().data} == {"VIP", "beta"}
    untagged = client.tags.untag_contact(contact_id=user.id, tag_id=vip.id)
    assert untagged.name == "VIP"
    assert [t.name for t in client.contacts.list_attached_tags(user.id).data] == ["beta"]
    with pytest.raises(ApiError) as caught:
        client.tags.tag_contact(contact_id=user.id, tag_id="999999999")
    assert caught.value.status_code == 404

    assert (
        client.events.create(
            request={
                "event_name": "placed-order",
                "created_at": MAY_29,
                "user_id": "m-1",
                "metadata": {"order_id": "o-9", "price": {"amount": 34999, "currency": "eur"}},
            }
        )
        is None
    )
    client.events.create(
        request={"event_name": "placed-order", "created_at": MAY_29, "user_id": "m-1"}
    )
    client.events.create(
        request={"event_name": "lead-clicked", "created_at": MAY_29, "id": lead.id}
    )
    with pytest.raises(ApiError) as caught:
        client.events.create(request={"event_name": "x", "created_at": MAY_29, "user_id": "nobody"})
    assert caught.value.status_code == 404
    assert caught.value.body["errors"][0]["code"] == "not_found"
    events = api.pages(f"/api/users/{user.id}/events")
    assert len(events) == 1  # the same (person, name, created_at) is stored once
    assert events[0]["metadata"] == {"order_id": "o-9", "price": "349.99 EUR"}
    listed = client.events.list(type="user", user_id="m-1")
    assert listed.events[0].event_name == "placed-order"  # type: ignore[attr-defined]

    # A lead becomes a user with role user and an external_id; a user never becomes a lead.
    converted = client.contacts.update(lead.id, role="user", external_id="v-1")
    assert (converted.role, converted.external_id, converted.id) == ("user", "v-1", lead.id)
    with pytest.raises(ApiError) as caught:
        client.contacts.update(lead.id, role="lead")
    assert caught.value.status_code == 400
    assert (
        caught.value.body["errors"][0]["message"]
        == "Contact with user role can't be converted to a lead"
    )
    with pytest.raises(ApiError) as caught:  # another user has that external_id
        client.contacts.update(lead.id, external_id="m-1")
    assert caught.value.status_code == 409
    assert caught.value.body["errors"][0]["message"].endswith(f"id={user.id}")

    other = client.contacts.create(
        request={"role": "lead", "email": "other@example.com", "name": "O"}
    )
    client.events.create(
        request={"event_name": "lead-clicked", "created_at": MAY_29, "id": other.id}
    )
    merged = client.contacts.merge_lead_in_user(lead_id=other.id, contact_id=user.id)
    assert merged.id == user.id
    assert merged.name == "O"  # a blank filled from the lead
    assert [e["event_name"] for e in api.pages(f"/api/users/{user.id}/events")] == [
        "placed-order",
        "lead-clicked",
    ]
    with pytest.raises(ApiError) as caught:
        client.contacts.find(other.id)
    assert caught.value.status_code == 404

    deleted = client.contacts.delete(user.id)
    assert (deleted.id, deleted.external_id, deleted.deleted) == (user.id, "m-1", True)
    assert api.all_users(user_id="m-1") == []
    assert beta.id


def test_search_operators_and_paging(client: Intercom) -> None:
    for i in range(7):
        client.contacts.create(
            request={
                "role": "user",
                "external_id": f"s-{i}",
                "email": f"s{i}@{'example.com' if i % 2 else 'test.org'}",
                "name": f"Searcher {i}",
                "signed_up_at": MAY_29 + i * DAY + 3600,
                "custom_attributes": {"seats": i},
            }
        )
    client.contacts.create(request={"role": "lead", "email": "lead@example.com"})

    def search(query: dict[str, Any], **pagination: Any) -> Any:
        body: dict[str, Any] = {"query": query}
        if pagination:
            body["pagination"] = pagination
        return client.contacts.search(**body).response  # one page, as the server sent it

    def external_ids(query: dict[str, Any]) -> list[str]:
        return sorted(c.external_id or c.email for c in search(query).data)

    nested = {
        "operator": "AND",
        "value": [
            {"field": "role", "operator": "=", "value": "user"},
            {
                "operator": "OR",
                "value": [
                    {"field": "email", "operator": "~", "value": "test.org"},
                    {"field": "external_id", "operator": "IN", "value": ["s-1", "s-3"]},
                ],
            },
        ],
    }
    assert external_ids(nested) == ["s-0", "s-1", "s-2", "s-3", "s-4", "s-6"]
    assert external_ids({"field": "external_id", "operator": "NIN", "value": ["s-0", "s-1"]}) == [
        "lead@example.com",
        "s-2",
        "s-3",
        "s-4",
        "s-5",
        "s-6",
    ]
    assert external_ids({"field": "name", "operator": "^", "value": "searcher 1"}) == ["s-1"]
    assert external_ids({"field": "email", "operator": "$", "value": "@test.org"}) == [
        "s-0",
        "s-2",
        "s-4",
        "s-6",
    ]
    assert external_ids({"field": "role", "operator": "!=", "value": "user"}) == [
        "lead@example.com"
    ]
    assert external_ids({"field": "custom_attributes.seats", "operator": ">", "value": 4}) == [
        "s-5",
        "s-6",
    ]
    # Times by day: = is that UTC day, > from the next day, < before it.
    assert external_ids({"field": "signed_up_at", "operator": "=", "value": MAY_29 + 2 * DAY}) == [
        "s-2"
    ]
    assert external_ids(
        {"field": "signed_up_at", "operator": ">", "value": MAY_29 + 5 * DAY + 7200}
    ) == ["s-6"]
    assert external_ids({"field": "signed_up_at", "operator": "<", "value": MAY_29 + DAY + 60}) == [
        "s-0"
    ]

    # Paging through the body: pages.next only while there is more.
    users = {"field": "role", "operator": "=", "value": "user"}
    seen: list[str] = []
    page = search(users, per_page=3)
    number = 1
    while True:
        assert page.total_count == 7
        assert (page.pages.page, page.pages.total_pages) == (number, 3)
        number += 1
        seen.extend(c.external_id for c in page.data)
        if page.pages.next is None:
            break
        page = search(users, per_page=3, starting_after=page.pages.next.starting_after)
    assert sorted(seen) == [f"s-{i}" for i in range(7)]
    assert len(seen) == 7
    # The list pager follows pages.next.starting_after (the query string) to the end.
    listed = [c.external_id or c.email for c in client.contacts.list(per_page=3)]
    assert sorted(listed) == ["lead@example.com", *(f"s-{i}" for i in range(7))]

    with pytest.raises(ApiError) as caught:
        search({"field": "seats", "operator": "=", "value": 1})
    assert caught.value.status_code == 400
    assert "custom_attributes.<name>" in caught.value.body["errors"][0]["message"]
    with pytest.raises(ApiError) as caught:
        search({"field": "signed_up_at", "operator": "~", "value": "2024"})
    assert caught.value.status_code == 400


def test_errors_have_intercoms_shape(services, api: Api) -> None:
    wrong = intercom_client(services.base_url, "not-a-token")
    with pytest.raises(UnauthorizedError) as caught:
        wrong.contacts.find("c_1")
    assert caught.value.body.type == "error.list"
    assert caught.value.body.errors[0].code == "unauthorized"

    headers = {"Authorization": f"Bearer {api.token}"}
    base = f"{services.base_url}/intercom"
    companies = httpx.post(f"{base}/companies", json={"name": "Acme"}, headers=headers)
    assert companies.status_code == 404
    assert companies.json()["type"] == "error.list"
    assert "has no POST /companies" in companies.json()["errors"][0]["message"]
    junk = httpx.post(f"{base}/contacts", content=b"{", headers=headers)
    assert junk.status_code == 400
    assert junk.json()["errors"][0]["code"] == "parameter_invalid"
    bad = httpx.post(f"{base}/contacts", json={"role": "user", "email": "nope"}, headers=headers)
    assert bad.status_code == 400 and "email" in bad.json()["errors"][0]["message"]
    missing = httpx.get(f"{base}/contacts/c_nobody", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"code": "not_found", "message": "Contact Not Found"}]


def test_a_contact_made_through_intercom_gets_a_live_message_once(
    services, api: Api, client: Intercom
) -> None:
    message = api.pro_message()
    contact = client.contacts.create(
        request={
            "role": "user",
            "external_id": "l-1",
            "email": "l@example.com",
            "custom_attributes": {"plan": "free"},
        }
    )
    client.contacts.update(contact.id, custom_attributes={"plan": "pro"})
    client.contacts.update(contact.id, custom_attributes={"plan": "pro", "seats": 2})
    deliveries = Api.wait_for(
        lambda: len(api.pages(f"/api/messages/{message['id']}/deliveries")), 1, timeout_s=30
    )
    assert deliveries == 1
    time.sleep(1)
    assert len(api.pages(f"/api/messages/{message['id']}/deliveries")) == 1  # once


def test_another_workspace_sees_nothing(services, api: Api, client: Intercom) -> None:
    contact = client.contacts.create(
        request={"role": "user", "external_id": "t-1", "email": "t@example.com"}
    )
    tag = client.tags.create(request={"name": "secret"})
    other = intercom_client(services.base_url, Api.new_workspace(services.base_url, "other").token)
    for call in (
        lambda: other.contacts.find(contact.id),
        lambda: other.contacts.update(contact.id, name="Mallory"),
        lambda: other.contacts.delete(contact.id),
        lambda: other.contacts.show_contact_by_external_id("t-1"),
        lambda: other.tags.tag_contact(contact_id=contact.id, tag_id=tag.id),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status_code == 404
    assert (
        list(other.contacts.search(query={"field": "external_id", "operator": "=", "value": "t-1"}))
        == []
    )
    assert client.contacts.find(contact.id).name is None
