"""``POST /api/users/bulk`` and ``mixpanel_file`` uploads: JSON records through the import
pipeline, with history, counts and an error report."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.support.api import Api
from tests.support.vendors import mixpanel_profile


def _bulk(api: Api, body: bytes, content_type: str = "application/json", **params) -> dict:
    response = api.post_raw("/api/users/bulk", body, content_type, **params)
    assert response.status_code == 202, response.text
    return response.json()


def test_bulk_contacts_are_imported_like_a_file(services) -> None:
    api = Api.new_workspace(services.base_url, "Bulk")
    api.ok("POST", "/api/users", json={"user_id": "u0", "custom_attributes": {"plan": "pro"}})
    contacts = [
        {"user_id": "u1", "email": "ann@example.com", "name": "Ann", "tags": ["VIP"]},
        {"user_id": "u2", "email": "bob@example.com", "custom_attributes": {"seats": 3}},
        {"email": "lead@example.com", "role": "lead", "name": "Lead"},
        {"email": "not-an-email", "user_id": "u3"},
        {"user_id": "u4", "custom_attributes": {"seats": "three"}},  # seats is an integer now
        {"user_id": "u5", "favourite": "blue"},
        {"user_id": "u1", "name": "Ann B", "signed_up_at": "2015-02-01"},  # same person again
        {"email": "lead2@example.com", "role": "lead", "user_id": "x"},
        "not an object",
        {"user_id": "u0", "custom_attributes": {"plan": None}},  # null clears
    ]
    created = _bulk(api, orjson.dumps(contacts), tag="API 2024")
    assert created["source"] == "api" and created["status"] == "queued"
    assert created["kind"] == "users"
    done = api.wait(created["id"])
    assert done["status"] == "completed", done
    assert done["counts"] == {
        "rows": 10,
        "created": 3,
        "updated": 2,
        "failed": 5,
        "unchanged": 0,
        "warnings": 0,
    }
    history = api.ok("GET", "/api/imports")["data"]
    assert history[0]["id"] == created["id"]

    ann = api.all_users(user_id="u1")[0]
    assert ann["name"] == "Ann B" and ann["signed_up_at"] == "2015-02-01T00:00:00Z"
    assert sorted(ann["tags"]) == ["API 2024", "VIP"]
    assert api.all_users(user_id="u2")[0]["custom_attributes"] == {"seats": 3}
    lead = api.all_users(email="lead@example.com")[0]
    assert lead["role"] == "lead" and lead["user_id"] is None
    assert api.all_users(user_id="u0")[0]["custom_attributes"] == {}

    report = api.ok("GET", f"/api/imports/{created['id']}/errors", params={"format": "json"})
    rows = {r["row"]: r for r in report["data"]}
    assert sorted(rows) == [4, 5, 6, 8, 9]
    assert rows[4]["values"] == {"email": "not-an-email", "user_id": "u3"}
    assert "integer" in rows[5]["errors"][0]
    assert "unknown field 'favourite'" in rows[6]["errors"][0]
    assert "lead has no user_id" in rows[8]["errors"][0]
    assert rows[9]["values"] == {"record": '"not an object"'}
    lines = api.request("GET", f"/api/imports/{created['id']}/errors").text.splitlines()
    assert lines[0] == "row,errors,record"
    assert lines[1].startswith("4,") and "not-an-email" in lines[1]


def test_bulk_ndjson_and_leads(services) -> None:
    api = Api.new_workspace(services.base_url, "Bulk NDJSON")
    body = (
        b'{"email": "a@example.com", "role": "lead"}\n\n'
        b'{"email": "b@example.com", "role": "lead"}\n{broken\n'
    )
    created = _bulk(api, body, "application/x-ndjson", trigger_messages="false")
    assert created["kind"] == "leads" and created["trigger_messages"] is False
    done = api.wait(created["id"])
    assert done["counts"] == {
        "rows": 3,
        "created": 2,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }
    report = api.ok("GET", f"/api/imports/{created['id']}/errors", params={"format": "json"})
    assert report["data"][0]["row"] == 3
    assert report["data"][0]["values"] == {"record": "{broken"}
    assert "not valid JSON" in report["data"][0]["errors"][0]


def test_bulk_rejects_bad_bodies(services) -> None:
    api = Api.new_workspace(services.base_url, "Bulk errors")
    for body, content_type, status, words in [
        (b'{"email": "a@example.com"}', "application/json", 422, "JSON array"),
        (b"[{}, ", "application/json", 422, "not valid JSON"),
        (b"[]", "application/json", 422, "no contacts"),
        (b"", "application/json", 422, "empty"),
        (b"[1]", "application/x-ndjson", 422, "NDJSON"),
    ]:
        response = api.post_raw("/api/users/bulk", body, content_type)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"]["message"], response.text
    assert api.ok("GET", "/api/imports")["data"] == []


def test_mixpanel_file_upload(services) -> None:
    api = Api.new_workspace(services.base_url, "Mixpanel file")
    profiles = [mixpanel_profile(i) for i in range(25)]
    profiles[3]["$properties"]["$email"] = "bad"
    uploaded = api.upload(orjson.dumps(profiles), "people.json", source="mixpanel_file")
    assert uploaded["source"] == "mixpanel_file" and uploaded["status"] == "uploaded"
    assert uploaded["columns"][:4] == ["$distinct_id", "$email", "$first_name", "$last_name"]
    assert uploaded["preview"][0][:3] == ["mp-0", "person0@example.com", "Ann0"]
    assert len(uploaded["preview"]) == 10
    assert uploaded["suggested_mapping"] == {}
    response = api.request(
        "POST", f"/api/imports/{uploaded['id']}/start", json={"mapping": {"email": "$email"}}
    )
    assert response.status_code == 422 and "mapped automatically" in response.text
    api.start(uploaded["id"], kind="users", tag="MP export")
    done = api.wait(uploaded["id"])
    assert done["counts"] == {
        "rows": 25,
        "created": 24,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }
    person = api.all_users(user_id="mp-5")[0]
    assert person["email"] == "person5@example.com" and "MP export" in person["tags"]
    assert person["custom_attributes"]["plan"] == "pro"
    report = api.ok("GET", f"/api/imports/{uploaded['id']}/errors", params={"format": "json"})
    assert report["data"][0]["row"] == 4
    assert report["data"][0]["values"]["$distinct_id"] == "mp-3"

    not_export = api.request(
        "POST",
        "/api/imports",
        files={"file": ("x.json", b"[1, 2]")},
        data={"source": "mixpanel_file"},
    )
    assert not_export.status_code == 422 and "Mixpanel people export" in not_export.text


@pytest.mark.slow
def test_bulk_100k_contacts(services) -> None:
    api = Api.new_workspace(services.base_url, "Bulk 100k")
    contacts = [
        {
            "user_id": f"user-{i}",
            "email": f"user{i}@example.com",
            "name": f"User {i}",
            "signed_up_at": 1_420_070_400 + i,
            "custom_attributes": {"plan": "pro" if i % 3 else "free", "seats": i % 50},
            "tags": ["bulk"],
        }
        for i in range(100_001)
    ]
    too_many = api.request("POST", "/api/users/bulk", content=orjson.dumps(contacts))
    assert too_many.status_code == 413, too_many.text
    body = orjson.dumps(contacts[:100_000])
    started = time.monotonic()
    created = _bulk(api, body)
    accepted = time.monotonic() - started
    done = api.wait(created["id"], timeout_s=600)
    elapsed = time.monotonic() - started
    assert done["status"] == "completed", done
    assert done["counts"] == {
        "rows": 100_000,
        "created": 100_000,
        "updated": 0,
        "failed": 0,
        "unchanged": 0,
        "warnings": 0,
    }
    print(
        f"\nbulk users: 100,000 contacts ({len(body) / 1e6:.1f} MB) accepted in {accepted:.1f} s,"
        f" imported in {elapsed:.1f} s = {100_000 / elapsed:,.0f} contacts/s"
    )
    one = api.all_users(user_id="user-99999")[0]
    assert one["custom_attributes"] == {"plan": "free", "seats": 49}
