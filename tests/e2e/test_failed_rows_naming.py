"""``GET /api/users/failed-rows``: the failed rows of real CSV imports (run by the workers) that
name an email or a user ID in their mapped columns — what became of someone a people search
does not find, or of a person's row that failed."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api

FILE = (
    b"Email,Customer,Name,Phone,Notes\n"
    b"zed@example.com,z1,Zed,020 7946 0958,u9\n"  # no country code: the row fails
    b"ann@example.com,a1,Ann,+442079460958,zed@example.com\n"
    b"Bee@Example.com,b1,Bee,07700 900001,\n"  # fails too
    b"not-an-email,n1,Nobody,,\n"  # fails: the email is not one
)
MAPPING = {"email": "Email", "user_id": "Customer", "name": "Name", "phone": "Phone"}


def _rows(api: Api, **params: Any) -> list[tuple[int, str]]:
    page = api.ok("GET", "/api/users/failed-rows", params=params)
    assert page["next_cursor"] is None
    return [(r["row"], r["file_name"]) for r in page["data"]]


def test_failed_rows_are_found_by_their_email_or_user_id(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "failed rows")
    done = api.import_csv(FILE, mapping=MAPPING, custom_attributes={"Notes": "notes"})
    assert done["counts"] == {**done["counts"], "created": 1, "failed": 3}

    # By the search text: an email (any case) or a user ID, in the mapped column only —
    # Ann's Notes hold "zed@example.com", which is no email column.
    [found] = api.ok("GET", "/api/users/failed-rows", params={"q": "zed@example.com"})["data"]
    assert found["import_id"] == done["id"]
    assert found["row"] == 1
    assert found["file_name"] == "people.csv"
    assert any("phone" in e for e in found["errors"])
    assert found["import_created_at"].endswith("Z")
    assert _rows(api, q="ZED@example.COM") == [(1, "people.csv")]
    assert _rows(api, q="bee@example.com") == [(3, "people.csv")]
    assert _rows(api, q="email: bee@example.com") == [(3, "people.csv")]
    assert _rows(api, q="z1") == [(1, "people.csv")]  # a user ID
    assert _rows(api, q="user_id: z1") == [(1, "people.csv")]
    assert _rows(api, q="u9") == []  # in the Notes column, not the user ID's
    assert _rows(api, q="user_id: Z1") == []  # user IDs are exact
    assert _rows(api, q="not-an-email") == []  # an email that is none is looked up as a user ID
    assert _rows(api, q="n1") == [(4, "people.csv")]
    assert _rows(api, q="ann@example.com") == []  # her row was imported
    assert _rows(api, q="tag: Zed") == []  # a search that names no identifier
    # By the person's identifiers, as the person page asks; newest import first.
    again = api.import_csv(FILE, mapping=MAPPING)
    found_twice = api.ok(
        "GET", "/api/users/failed-rows", params={"email": "zed@example.com", "user_id": "b1"}
    )["data"]
    assert [(r["import_id"], r["row"]) for r in found_twice] == [
        (again["id"], 1),
        (again["id"], 3),
        (done["id"], 1),
        (done["id"], 3),
    ]
    assert len(api.ok("GET", "/api/users/failed-rows", params={"q": "z1", "limit": 1})["data"]) == 1


def test_dry_runs_and_other_workspaces_are_not_searched(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "failed rows, dry run")
    uploaded = api.upload(FILE)
    api.dry_run(uploaded["id"], mapping=MAPPING)
    assert api.wait(uploaded["id"])["status"] == "previewed"
    assert _rows(api, q="zed@example.com") == []  # a preview imported nothing: nothing failed

    owner = Api.new_workspace(services.base_url, "failed rows, owner")
    owner.import_csv(FILE, mapping=MAPPING)
    assert _rows(owner, q="zed@example.com") == [(1, "people.csv")]
    assert _rows(api, q="zed@example.com") == []
