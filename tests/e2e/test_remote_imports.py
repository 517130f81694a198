"""MailChimp and Mixpanel imports against loopback servers that speak the vendors' APIs.

The import pages through the vendor, backs off on 429/5xx and resumes at the same page, ends
complete and exact, or fails with the vendor's own message; credentials are never echoed.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.api import Api
from tests.support.db import query
from tests.support.vendors import (
    FakeMailchimp,
    FakeMixpanel,
    Fault,
    mailchimp_member,
    mixpanel_profile,
)

MC_KEY = "0123456789abcdef0123456789abcdef-us6"
MP_USER = "usher-import.1a2b3c.mp-service-account"
MP_SECRET = "mp-sa-secret-Qx7Rk2Lw9Zt4"


def _members(list_id: str, n: int) -> list[dict]:
    members = [mailchimp_member(i, list_id) for i in range(n)]
    # Signup data wins over opt-in data when MailChimp has it.
    members[0]["ip_signup"] = "203.0.113.7"
    members[0]["timestamp_signup"] = "2021-06-07T08:09:10+00:00"
    members[0]["tags"] = [{"id": 1, "name": "VIP"}, {"id": 2, "name": "Newsletter"}]
    members[1]["merge_fields"]["PHONE"] = "555 0100"  # no country code: the record fails
    members[2]["status"] = "unsubscribed"  # left out by the status filter
    members[3]["merge_fields"].update(FNAME="", LNAME="")  # no name: nothing to set
    return members


@pytest.fixture
def mailchimp():
    with FakeMailchimp(MC_KEY, {"list1": _members("list1", 2500)}) as server:
        yield server


@pytest.fixture
def mixpanel():
    profiles = [mixpanel_profile(i) for i in range(600)]
    profiles[0]["$distinct_id"] = "$device:18f0a1b2c3"  # anonymous: no user_id
    profiles[1]["$properties"]["$name"] = "Grace Hopper"
    profiles[2]["$properties"]["seats"] = "many"  # seats is an integer attribute: fails
    profiles[3]["$properties"]["$email"] = "not-an-email"
    profiles[4]["$properties"]["tags"] = ["a", "b"]  # a list becomes text
    with FakeMixpanel(MP_USER, MP_SECRET, {"4242": profiles, "777": profiles[:5]}) as server:
        server.page_size = 250
        yield server


def _mailchimp(api: Api, server: FakeMailchimp, **body) -> dict:
    payload = {
        "api_key": MC_KEY,
        "list_id": "list1",
        "base_url": server.base_url,
        "kind": "users",
        "tag": "MailChimp 2024",
    }
    payload.update(body)
    return api.ok("POST", "/api/imports/mailchimp", 202, json=payload)


def _mixpanel(api: Api, server: FakeMixpanel, **body) -> dict:
    payload = {
        "project_id": "4242",
        "service_account_username": MP_USER,
        "service_account_secret": MP_SECRET,
        "region": "eu",
        "base_url": server.base_url,
        "kind": "users",
        "tag": "Mixpanel",
    }
    payload.update(body)
    return api.ok("POST", "/api/imports/mixpanel", 202, json=payload)


def test_mailchimp_import_is_complete_and_exact_through_429_and_503(services, mailchimp) -> None:
    mailchimp.faults[1000] = Fault(429, times=2, retry_after="1")
    mailchimp.faults[2000] = Fault(503)
    api = Api.new_workspace(services.base_url, "MailChimp")
    created = _mailchimp(api, mailchimp)
    assert created["source"] == "mailchimp" and created["status"] == "queued"
    assert MC_KEY not in str(created)

    done = api.wait(created["id"])
    assert done["status"] == "completed", done
    # 2,500 members, one unsubscribed (filtered out by MailChimp), one with a bad phone.
    assert done["counts"] == {
        "rows": 2499,
        "created": 2498,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }
    assert mailchimp.answered[429] == 2 and mailchimp.answered[503] == 1
    pages = [r["query"] for r in mailchimp.requests]
    assert {p["count"] for p in pages} == {"1000"}
    assert {p["status"] for p in pages} == {"subscribed"}
    assert sorted({int(p["offset"]) for p in pages}) == [0, 1000, 2000]
    assert len(pages) == 3 + 2 + 1  # three pages, the 429s and the 503 asked again
    assert mailchimp.max_active <= 10

    first = api.all_users(email="member0@example.com")[0]
    assert first["name"] == "First0 Last0"
    assert first["last_seen_ip"] == "203.0.113.7"  # ip_signup before ip_opt
    assert first["signed_up_at"] == "2021-06-07T08:09:10Z"
    assert first["phone"] == "+14155550000"
    assert sorted(first["tags"]) == ["MailChimp 2024", "Newsletter", "VIP"]
    other = api.all_users(email="member5@example.com")[0]
    assert other["last_seen_ip"] == "198.51.100.6"  # ip_opt
    assert other["signed_up_at"] == "2023-01-05T14:03:22Z"  # timestamp_opt
    assert sorted(other["tags"]) == ["Customer", "MailChimp 2024"]
    assert api.all_users(email="member3@example.com")[0]["name"] is None
    assert api.all_users(email="member2@example.com") == []

    report = api.ok("GET", f"/api/imports/{created['id']}/errors", params={"format": "json"})
    (failed,) = report["data"]
    assert failed["row"] == 2  # member 1 is the second record MailChimp returned
    assert "phone" in failed["errors"][0]
    assert failed["values"]["email_address"] == "member1@example.com"
    csv_report = api.request("GET", f"/api/imports/{created['id']}/errors").text
    assert csv_report.splitlines()[0] == "row,errors,record"
    assert MC_KEY not in csv_report

    # Importing the same audience again matches everyone, creates no one, changes nothing.
    again = api.wait(_mailchimp(api, mailchimp)["id"])
    assert again["counts"] == {
        "rows": 2499,
        "created": 0,
        "updated": 2498,
        "failed": 1,
        "unchanged": 2498,
        "warnings": 0,
    }


def test_mailchimp_bad_key_fails_with_mailchimp_message(services, mailchimp) -> None:
    api = Api.new_workspace(services.base_url, "MailChimp bad key")
    created = _mailchimp(api, mailchimp, api_key="ffffffffffffffffffffffffffffffff-us6")
    done = api.wait(created["id"])
    assert done["status"] == "failed"
    assert "Your API key may be invalid" in done["error"]
    assert "ffffffffffffffff" not in done["error"]
    missing = api.wait(_mailchimp(api, mailchimp, list_id="nope")["id"])
    assert missing["status"] == "failed"
    assert "The requested resource could not be found." in missing["error"]
    assert (
        query(services.dsn, "SELECT secret FROM imports WHERE id = $1", created["id"])[0][0] is None
    )


def test_remote_requests_are_validated_without_echoing_secrets(services) -> None:
    api = Api.new_workspace(services.base_url, "Validation")
    response = api.request(
        "POST", "/api/imports/mailchimp", json={"api_key": "nodatacenterkey", "list_id": "x"}
    )
    assert response.status_code == 422 and "data center" in response.text
    assert "nodatacenterkey" not in response.text
    response = api.request(
        "POST",
        "/api/imports/mixpanel",
        json={"project_id": "1", "service_account_username": "u"},
    )
    assert response.status_code == 422 and "service_account_secret" in response.text
    response = api.request(
        "POST",
        "/api/imports/mixpanel",
        json={
            "project_id": "1",
            "service_account_username": "u",
            "service_account_secret": "s3cr3t-value",
            "region": "mars",
        },
    )
    assert response.status_code == 422 and "s3cr3t-value" not in response.text


def test_mixpanel_import_pages_with_session_and_maps_profiles(services, mixpanel) -> None:
    mixpanel.faults[1] = Fault(429)  # no Retry-After: exponential back-off
    api = Api.new_workspace(services.base_url, "Mixpanel")
    created = _mixpanel(api, mixpanel)
    done = api.wait(created["id"])
    assert done["status"] == "completed", done
    assert done["counts"] == {
        "rows": 600,
        "created": 598,
        "updated": 0,
        "failed": 2,
        "unchanged": 0,
        "warnings": 0,
    }
    assert mixpanel.answered[429] == 1
    ok = [r for r in mixpanel.requests if r["session_id"]]
    assert [r["page"] for r in ok] == [1, 1, 2]  # page 1 again after the 429
    assert len({r["session_id"] for r in ok}) == 1
    assert all(r["project_id"] == "4242" for r in mixpanel.requests)

    anonymous = api.all_users(email="person0@example.com")[0]
    assert anonymous["user_id"] is None
    assert anonymous["name"] == "Ann0 Lee0"
    assert anonymous["signed_up_at"] == "2022-03-04T05:06:07Z"
    assert anonymous["last_seen_at"] == "2024-01-02T03:04:05Z"
    assert anonymous["custom_attributes"] == {
        "city": "Berlin",
        "timezone": "Europe/Berlin",
        "plan": "free",
        "seats": 1,
        "beta": True,
    }
    grace = api.all_users(user_id="mp-1")[0]
    assert grace["name"] == "Grace Hopper" and grace["email"] == "person1@example.com"
    # "tags" is a standard field: the property becomes "mixpanel_tags"; a list becomes text.
    assert api.all_users(user_id="mp-4")[0]["custom_attributes"]["mixpanel_tags"] == "a, b"
    report = api.ok("GET", f"/api/imports/{created['id']}/errors", params={"format": "json"})
    assert [(r["row"], r["values"]["$distinct_id"]) for r in report["data"]] == [
        (3, "mp-2"),
        (4, "mp-3"),
    ]
    assert "seats" in report["data"][0]["errors"][0]
    assert "integer" in report["data"][0]["errors"][0]


def test_mixpanel_bad_secret_fails_with_mixpanel_message(services, mixpanel) -> None:
    api = Api.new_workspace(services.base_url, "Mixpanel bad secret")
    done = api.wait(_mixpanel(api, mixpanel, service_account_secret="wrong-secret")["id"])
    assert done["status"] == "failed"
    assert done["error"] == "Mixpanel refused the import (401): Unable to authenticate request"
    denied = api.wait(_mixpanel(api, mixpanel, project_id="1")["id"])
    assert denied["status"] == "failed" and "You do not have access to project 1" in denied["error"]


def _applied(services, import_id: str) -> int:
    return query(
        services.dsn, "SELECT count(*) FROM import_chunks WHERE import_id = $1", import_id
    )[0][0]


def test_mixpanel_import_resumes_after_a_parser_kill(services, mixpanel) -> None:
    """The parser dies while the vendor is slow; the restarted parser asks for the next page
    of the same query session and no chunk is applied twice."""
    mixpanel.faults[2] = Fault(503, times=1, delay_s=8.0)
    api = Api.new_workspace(services.base_url, "Mixpanel resume")
    created = _mixpanel(api, mixpanel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        any(r["page"] == 2 for r in mixpanel.requests if r["session_id"])
        and _applied(services, created["id"]) == 2
    ):
        time.sleep(0.05)
    services.stop_service("parser", signal.SIGKILL)
    time.sleep(1)
    services.start_service("parser")
    done = api.wait(created["id"], timeout_s=180)
    assert done["status"] == "completed", done
    assert done["counts"] == {
        "rows": 600,
        "created": 598,
        "updated": 0,
        "failed": 2,
        "unchanged": 0,
        "warnings": 0,
    }
    pages = [r["page"] for r in mixpanel.requests if r["session_id"]]
    assert pages.count(1) == 1  # not pulled again: its chunk was applied before the kill
    chunks = query(
        services.dsn,
        "SELECT seq, rows FROM import_chunks WHERE import_id = $1 ORDER BY seq",
        created["id"],
    )
    assert [(r["seq"], r["rows"]) for r in chunks] == [(0, 250), (1, 250), (2, 100)]
    assert len(api.all_users(q="tag: Mixpanel")) == 598
