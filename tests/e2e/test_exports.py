"""The exports people really bring (issue 17, SPEC §6.5): each vendor's export imported with
the mapping Usher suggests, confirmed as it is; remembered mappings; reading a file again."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.exports import VENDORS, Export


@pytest.fixture(scope="module")
def api(services) -> Api:
    return Api.new_workspace(services.base_url, "exports")


@pytest.mark.parametrize("export", VENDORS, ids=lambda e: e.vendor)
def test_a_vendor_export_imports_with_the_suggested_mapping(api: Api, export: Export) -> None:
    uploaded = api.upload(export.path)
    assert uploaded["mapping_source"] == "suggested"
    assert uploaded["suggested_mapping"] == export.mapping
    assert uploaded["fresh_mapping"] == export.mapping
    assert uploaded["detected"].get("date_order") == export.date_order
    body = {"mapping": uploaded["suggested_mapping"]}  # as the mapping step offers it
    if export.date_order:
        body["date_order"] = export.date_order
    api.start(uploaded["id"], **body)
    done = api.wait(uploaded["id"])
    report = api.ok("GET", f"/api/imports/{uploaded['id']}/errors", params={"format": "json"})
    assert done["status"] == "completed" and done["counts"]["failed"] == 0, report
    assert done["counts"]["created"] == done["counts"]["rows"]
    for person in export.people:
        [found] = api.all_users(email=person["email"])
        for key, value in person.items():
            assert found[key] == value, (export.vendor, person["email"], key)


def _upload(api: Api, header: str, rows: str = "a@example.com,Ann,pro,3\n") -> dict:
    return api.upload(f"{header}\n{rows}".encode(), "week.csv")


def test_a_header_set_started_before_gets_its_mapping(services) -> None:
    api = Api.new_workspace(services.base_url, "remembered")
    first = _upload(
        api, "Email,Given,Plan,Seats", "a@example.com,Ann,pro,3\nb@example.com,Bo,free,1\n"
    )
    assert first["mapping_source"] == "suggested" and first["remembered"] is None
    assert first["column_types"] == {
        "Email": "string",
        "Given": "string",
        "Plan": "string",
        "Seats": "integer",
    }
    api.start(
        first["id"],
        kind="leads",
        mapping={"email": "Email", "name": "Given"},
        custom_attributes={"Plan": "plan", "Seats": "seats"},
        attribute_types={"seats": "float"},
        date_order="MDY",
        default_country="GB",
        tag="week 1",
    )
    assert api.wait(first["id"])["status"] == "completed"
    types = {a["name"]: a["type"] for a in api.pages("/api/attributes")}
    assert types == {"plan": "string", "seats": "float"}  # the chosen type, not the inferred

    again = _upload(api, " seats ,PLAN,email,given")  # same set: trimmed, any case, any order
    assert again["mapping_source"] == "remembered"
    assert again["suggested_mapping"] == {"email": "email", "name": "given"}
    assert again["fresh_mapping"] == {"email": "email"}
    remembered = again["remembered"]
    assert remembered["import_id"] == first["id"] and remembered["file_name"] == "week.csv"
    assert remembered["custom_attributes"] == {"PLAN": "plan", "seats": "seats"}  # as read
    assert remembered["attribute_types"] == {"plan": "string", "seats": "float"}
    assert remembered["options"] == {
        "kind": "leads",
        "blank_values": "clear",
        "date_order": "MDY",
        "default_country": "GB",
    }
    # An attribute's type is fixed once it exists.
    refused = api.request(
        "POST",
        f"/api/imports/{again['id']}/start",
        json={
            "mapping": again["suggested_mapping"],
            "custom_attributes": remembered["custom_attributes"],
            "attribute_types": {"seats": "integer"},
        },
    )
    assert refused.status_code == 422
    assert "the attribute 'seats' exists as float; its type cannot change" in refused.text

    [kept] = api.pages("/api/mappings")
    assert kept["import_id"] == first["id"] and kept["mapping"] == {
        "email": "Email",
        "name": "Given",
    }
    other = Api.new_workspace(services.base_url, "remembered-other")
    assert _upload(other, "Email,Given,Plan,Seats")["mapping_source"] == "suggested"
    assert other.pages("/api/mappings") == []

    assert api.request("DELETE", f"/api/mappings/{kept['id']}").status_code == 204
    assert api.pages("/api/mappings") == []
    assert _upload(api, "Email,Given,Plan,Seats")["mapping_source"] == "suggested"
    assert api.request("DELETE", f"/api/mappings/{kept['id']}").status_code == 404


def test_a_dry_run_remembers_too_and_the_last_start_wins(api: Api) -> None:
    first = _upload(api, "Mail,Who,Tier,Count")
    api.dry_run(first["id"], mapping={"email": "Mail"}, custom_attributes={"Tier": "tier"})
    second = _upload(api, "Mail,Who,Tier,Count")
    assert second["remembered"]["import_id"] == first["id"]
    api.start(second["id"], mapping={"email": "Mail", "name": "Who"})
    third = _upload(api, "Mail,Who,Tier,Count")
    assert third["remembered"]["import_id"] == second["id"]
    assert third["suggested_mapping"] == {"email": "Mail", "name": "Who"}
    assert third["remembered"]["custom_attributes"] == {}


def test_the_server_reads_a_file_again_with_another_delimiter(api: Api) -> None:
    uploaded = api.upload(b"email;name;plan\nr@example.com;Ruth;pro\n", "semi.csv")
    assert uploaded["detected"]["delimiter"] == ";"
    path = f"/api/imports/{uploaded['id']}/preview"
    comma = api.ok("POST", path, json={"delimiter": ","})
    assert comma["columns"] == ["email;name;plan"]
    assert comma["detected"] == {"encoding": uploaded["detected"]["encoding"], "delimiter": ","}
    back = api.ok("POST", path, json={"delimiter": ";"})
    assert back["columns"] == ["email", "name", "plan"]
    assert back["preview"] == [["r@example.com", "Ruth", "pro"]]
    assert back["suggested_mapping"] == {"email": "email", "name": "name"}
    bad = api.request("POST", path, json={"encoding": "klingon"})
    assert bad.status_code == 422 and "encoding: use one of" in bad.text
    api.start(uploaded["id"], mapping={"email": "email"})
    late = api.request("POST", path, json={"delimiter": ","})
    assert late.status_code == 409


def test_an_import_tag_with_a_comma_is_refused(api: Api) -> None:
    uploaded = _upload(api, "email,name", "t@example.com,Tess\n")
    answer = api.request(
        "POST",
        f"/api/imports/{uploaded['id']}/start",
        json={"mapping": {"email": "email"}, "tag": "Shopify, VIP"},
    )
    assert answer.status_code == 422
    assert "has a comma" in answer.json()["error"]["message"]


def test_a_national_number_must_be_valid_in_the_default_country(api: Api) -> None:
    uploaded = _upload(
        api, "email,phone", "uk@example.com,020 7946 0958\nus@example.com,(415) 555-2671\n"
    )
    api.start(uploaded["id"], mapping={"email": "email", "phone": "phone"}, default_country="GB")
    done = api.wait(uploaded["id"])
    assert (done["counts"]["created"], done["counts"]["failed"]) == (1, 1)
    errors = f"/api/imports/{uploaded['id']}/errors"
    [error] = api.ok("GET", errors, params={"format": "json"})["data"]
    assert "'(415) 555-2671' is not a valid GB phone number" in error["errors"][0]
    assert api.all_users(email="us@example.com") == []
