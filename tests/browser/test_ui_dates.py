"""Dates in the browser's own time zone (issue 20, item 5; the UI review's P5): a date imported
without a time (18/09/2014) is that date everywhere — not "17 Sept 2014, 17:00" in California —
while an instant is shown at the reader's local time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._helpers import expect
from tests.browser.conftest import NARROW, WIDE, Ui, _ui
from tests.support.api import Api


@pytest.fixture(params=[WIDE, NARROW], ids=["desktop", "phone"])
def pacific_ui(browser: Any, services: Any, request: pytest.FixtureRequest) -> Iterator[Ui]:
    yield from _ui(browser, services, request, request.param, timezone_id="America/Los_Angeles")


def test_a_date_alone_is_the_same_date_in_los_angeles(pacific_ui: Ui, workspace: Api) -> None:
    ui = pacific_ui
    made = workspace.ok(
        "POST",
        "/api/users",
        json={
            "email": "zoe@example.com",
            "name": "Zoe Patel",
            "signed_up_at": "18/09/2014",
            "last_seen_at": "2024-05-29T16:26:40Z",
            "custom_attributes": {"renewal": "2025-02-01"},
        },
    )["contact"]
    ui.sign_in(workspace.token)
    offset = ui.page.evaluate("new Date('2024-05-29T16:26:40Z').getTimezoneOffset()")
    assert offset == 420  # the page runs in Pacific daylight time (UTC-7)

    ui.nav("People")
    ui.page.get_by_label(re.compile("^Search")).fill("zoe")
    ui.page.get_by_role("button", name="Search").click()
    row = ui.page.locator("tbody tr").filter(has_text="Zoe Patel")
    expect(row.locator("td").last).to_have_text(re.compile(r"^18 Sept? 2014$"))

    ui.page.goto(f"{ui.base_url}/#/people/{made['id']}")
    details = ui.page.locator("dl").first
    expect(details).to_contain_text(re.compile(r"Signed up\s*18 Sept? 2014"))
    expect(details).to_contain_text(re.compile(r"Last seen\s*29 May 2024, 09:26"))
    expect(ui.page.locator("dl").nth(1)).to_contain_text(re.compile(r"renewal\s*1 Feb 2025"))
    ui.shot("01-person")
