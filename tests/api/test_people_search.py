"""People search over the API (``GET /api/users?q=`` and ``GET /api/users/count``): what the
search box's text finds (services/upload/people_query.py), the exact count of the same search,
and the 422 that says in words what a search cannot mean."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api

TAG = "New Sign-Ups 2015"
PEOPLE: list[dict[str, Any]] = [
    {
        "email": "ann@example.com",
        "user_id": "u1120",
        "name": "Ann Archer",
        "tags": [TAG],
        "custom_attributes": {"plan": "pro", "seats": 40},
    },
    {
        "email": "bob@example.com",
        "user_id": "u11200",
        "name": "Bob Baker",
        "tags": [TAG, "VIP"],
        "custom_attributes": {"plan": "Pro", "seats": 3},
    },
    {
        "email": "cat@annex.example",
        "user_id": "u7",
        "name": "Cat Cole",
        "signed_up_at": "2014-06-01",
        "custom_attributes": {"plan": "professional", "seats": 31},
    },
    {"email": "lead@example.com", "role": "lead", "name": "Lee Lead", "tags": ["VIP"]},
]


@pytest.fixture
def people(api: Api) -> dict[str, str]:
    """The people above in a new workspace: email -> id."""
    made = {}
    for person in PEOPLE:
        made[person["email"]] = api.ok("POST", "/api/users", json=person)["contact"]["id"]
    return made


def _emails(api: Api, **params: Any) -> list[str]:
    return sorted(p["email"] for p in api.all_users(**params))


def _count(api: Api, **params: Any) -> int:
    count: int = api.ok("GET", "/api/users/count", params=params)["count"]
    return count


@pytest.mark.parametrize(
    ("q", "emails"),
    [
        ("", ["ann@example.com", "bob@example.com", "cat@annex.example", "lead@example.com"]),
        ("u1120", ["ann@example.com"]),  # the whole user ID: not u11200
        ("U1120", ["ann@example.com"]),
        ("ann", ["ann@example.com", "cat@annex.example"]),  # the name or the email holds it
        ("Bob Baker", ["bob@example.com"]),
        (f"tag: {TAG}", ["ann@example.com", "bob@example.com"]),
        (f'tag: "{TAG}"', ["ann@example.com", "bob@example.com"]),
        (f"TAG:“{TAG.lower()}”", ["ann@example.com", "bob@example.com"]),
        ("tag: VIP", ["bob@example.com", "lead@example.com"]),
        ("plan: pro", ["ann@example.com", "bob@example.com"]),
        ("custom.plan: pro", ["ann@example.com", "bob@example.com"]),
        ("Plan = 'professional'", ["cat@annex.example"]),
        ("seats > 30", ["ann@example.com", "cat@annex.example"]),
        ("seats: 3", ["bob@example.com"]),
        ("email: BOB@example.com", ["bob@example.com"]),
        ("user_id: u7", ["cat@annex.example"]),
        ("User ID: u7", ["cat@annex.example"]),
        ("role: lead", ["lead@example.com"]),
        ("signed_up_at < 2015-01-01", ["cat@annex.example"]),
        ("nobody-at-all", []),
    ],
)
def test_a_search_finds_what_it_says_and_counts_it(
    api: Api, people: dict[str, str], q: str, emails: list[str]
) -> None:
    assert _emails(api, q=q) == emails
    assert _count(api, q=q) == len(emails)


def test_the_search_and_the_other_filters_combine(api: Api, people: dict[str, str]) -> None:
    assert _emails(api, q="tag: VIP", role="user") == ["bob@example.com"]
    assert _count(api, q="tag: VIP", role="user") == 1
    assert _count(api, tag="vip") == 2
    assert _count(api, email=" ANN@example.com ") == 1
    assert _count(api, role="lead") == 1
    # user_id is exact, as the list compares it: one user, or nobody.
    assert _count(api, user_id="u1120") == 1
    assert _count(api, user_id="U1120") == 0
    assert _count(api, user_id="u1120", q="plan: free") == 0
    assert _emails(api, user_id="u1120", q="plan: pro") == ["ann@example.com"]


def test_a_count_is_exact_past_one_page(api: Api) -> None:
    for i in range(60):
        api.ok("POST", "/api/users", json={"email": f"p{i}@example.com", "tags": ["Many"]})
    page = api.ok("GET", "/api/users", params={"q": "tag: Many", "limit": 50})
    assert len(page["data"]) == 50 and page["next_cursor"]
    assert _count(api, q="tag: Many") == 60
    assert _count(api) == 60


def test_another_workspace_is_not_counted(api: Api, people: dict[str, str], client: Any) -> None:
    other = Api.new_workspace(http=client)
    other.ok("POST", "/api/users", json={"email": "ann@example.com", "tags": [TAG]})
    assert _count(other, q=f"tag: {TAG}") == 1
    assert _count(api, q=f"tag: {TAG}") == 2


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("colour: red", "There is no field or custom attribute “colour” in this workspace."),
        ("custom.colour: red", "This workspace has no custom attribute “colour”."),
        ("tag:", "Write what to look for after “tag:”, as in “tag: New Sign-Ups 2015”."),
        ('tag: "VIP', 'The quote is not closed: write “tag: "VIP"”.'),
        ("seats: many", "“seats” is a number, and “many” is not one: write “seats: 30”."),
        ("plan > pro", "“plan” is compared as text: only numbers and dates take > or <."),
        ("role: admin", "A role is user or lead, not “admin”: write “role: lead”."),
    ],
)
def test_a_search_that_means_nothing_says_so(
    api: Api, people: dict[str, str], q: str, message: str
) -> None:
    for path in ("/api/users", "/api/users/count", "/api/users/failed-rows"):
        response = api.request("GET", path, params={"q": q})
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["message"].startswith(message), (path, error["message"])
        assert "filter" not in error["message"]


def test_unknown_attributes_are_named_with_those_that_exist(
    api: Api, people: dict[str, str]
) -> None:
    response = api.request("GET", "/api/users", params={"q": "colour: red"})
    message = response.json()["error"]["message"]
    assert "or a custom attribute (plan, seats)." in message
    assert 'To search for the text itself, put it in quotes: "colour: red".' in message


def test_failed_rows_need_an_identifier(api: Api, people: dict[str, str]) -> None:
    # No import has failed rows here; a search that names no email or user ID finds none.
    for params in ({"q": "tag: VIP"}, {"q": "ann@example.com"}, {"email": "x@y.io"}, {}):
        page = api.ok("GET", "/api/users/failed-rows", params=params)
        assert page == {"data": [], "next_cursor": None}
    for limit in (0, 21):
        response = api.request("GET", "/api/users/failed-rows", params={"limit": limit})
        assert response.status_code == 422
