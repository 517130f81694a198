"""Another workspace's ids answer 404, through a running upload service (the in-process checks
of tokens, limits, validation and fuzzing are the API tier's: tests/api/)."""

from __future__ import annotations

import re

import httpx

from tests.support.api import Api, big_csv, minimal_body

ID_PARAM = re.compile(r"\{[^}]+\}")


def _routes(services) -> list[tuple[str, str]]:
    schema = httpx.get(f"{services.base_url}/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api")
    ]


def test_other_workspaces_ids_answer_404(services) -> None:
    owner = Api.new_workspace(services.base_url, "owner")
    other = Api.new_workspace(services.base_url, "other")
    done = owner.import_csv(
        b"email,user_id\nmine@example.com,shared-id\n",
        mapping={"email": "email", "user_id": "user_id"},
    )
    person = owner.all_users()[0]
    message = owner.ok(
        "POST",
        "/api/messages",
        201,
        json={"name": "m", "audience": {"field": "role", "op": "eq", "value": "user"}},
    )
    segment = owner.ok(
        "POST",
        "/api/segments",
        201,
        json={"name": "s", "filter": {"field": "role", "op": "eq", "value": "user"}},
    )
    ids = {
        "import_id": done["id"],
        "contact_id": person["id"],
        "message_id": message["id"],
        "segment_id": segment["id"],
        "id": person["id"],
    }
    checked = 0
    for method, path in _routes(services):
        names = ID_PARAM.findall(path)
        if not names:
            continue
        url = path
        for name in names:
            url = url.replace(name, ids.get(name.strip("{}"), person["id"]))
        body = minimal_body(path)
        response = other.request(method, url, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        checked += 1
    assert checked >= 8
    # The same email and user_id in another workspace is another person.
    other.import_csv(
        b"email,user_id\nmine@example.com,shared-id\n",
        mapping={"email": "email", "user_id": "user_id"},
    )
    assert owner.all_users()[0]["id"] == person["id"]
    assert other.all_users()[0]["id"] != person["id"]


def test_a_big_file_import_holds_up_no_other_workspace(services) -> None:
    """Another workspace's small import is read and applied while a big file of this one is
    still being read: the parser reads file imports of different workspaces side by side."""
    big_owner = Api.new_workspace(services.base_url, "big")
    small_owner = Api.new_workspace(services.base_url, "small")
    big = big_owner.upload(big_csv(120_000), name="big.csv")
    big_owner.start(big["id"], mapping={"email": "email", "user_id": "user_id"})
    try:
        assert Api.wait_for(lambda: big_owner.status(big["id"])["rows_done"] > 0, True)
        small = small_owner.import_csv(b"email\nsmall@example.com\n", mapping={"email": "email"})
        assert small["counts"]["created"] == 1
        running = big_owner.status(big["id"])
        # The big file is not read to its end yet (the parser stays at most 64 chunks ahead
        # of the merger): the small import did not wait for it.
        assert running["status"] == "processing", running
        assert running["rows_total"] is None, running
    finally:
        big_owner.request("POST", f"/api/imports/{big['id']}/cancel")
