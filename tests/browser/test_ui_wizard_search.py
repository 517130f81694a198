"""The wizard's addresses and the people search in a real browser, at desktop and phone size.

The wizard (services/upload/ui/wizard.js, drafts.js): each step has its own address, so Back
and Forward move between steps and a reload stays on the step with the uploaded file and every
choice made; Enter in the tag field never starts an import; the address of an import started
already, or of none, says so with a link. People (people.js, services/upload/people_query.py):
a user ID, a quoted tag, ``plan: pro``, an unknown attribute said in words, the exact count, and
the failed import rows that name someone a search does not find.

Like the other browser modules: a workspace of its own per test, seeded over the API, the UI
driven the way a person does, what the API then holds checked; screenshots in tests/artifacts/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser._helpers import _start_csv_import, _wait_completed, expect
from tests.browser.conftest import Ui
from tests.support.api import Api

SIZES = ["wide", "narrow"]


@pytest.fixture(params=SIZES)
def sized_ui(request: pytest.FixtureRequest) -> Ui:
    """The UI at desktop size, then at phone size (conftest's WIDE and NARROW)."""
    ui: Ui = request.getfixturevalue("ui" if request.param == "wide" else "narrow_ui")
    return ui


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


SIGNUPS = _csv(
    "E-mail,Customer number,Full name,Plan,Company,Phone",
    "ann@example.com,u1,Ann Archer,pro,Acme,020 7946 0958",
    "bob@example.com,u2,Bob Baker,free,Bobco,020 7946 0959",
    "cat@example.com,u3,Cat Cole,pro,Catnip,+442079460960",
)
STEP_URL = r"#/import/(imp_[A-Za-z0-9_-]+)/"


def _step(ui: Ui, part: str, heading: str) -> str:
    """On the wizard step ``part`` (its address and heading): the import id in the address."""
    page = ui.page
    expect(page).to_have_url(re.compile(STEP_URL + part + "$"))
    expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
    found = re.search(STEP_URL, page.url)
    assert found is not None
    return found.group(1)


def _columns_as_chosen(ui: Ui) -> None:
    """The columns step shows the choices made in the test below."""
    page = ui.page
    expect(page.get_by_label("Email (required)")).to_have_value("E-mail")
    expect(page.get_by_label("User ID", exact=True)).to_have_value("Customer number")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Full name")
    expect(page.get_by_label("Default country for phone numbers")).to_have_value("GB")
    expect(page.get_by_label("Attribute name for “Plan”")).to_have_value("plan level")
    expect(page.get_by_label("Import column “Company”")).not_to_be_checked()


def _options_as_chosen(ui: Ui) -> None:
    page = ui.page
    expect(page.get_by_label("Tag", exact=True)).to_have_value("Spring 2026")
    expect(page.get_by_role("switch", name="Trigger live messages")).not_to_be_checked()
    expect(page.get_by_label("Dates like 03/04/2015")).to_have_value("MDY")
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text("Custom attribute “plan level” ← Plan")
    expect(page.get_by_test_id("not-imported")).to_have_text("Company")


def test_back_forward_and_reload_keep_the_file_and_the_mapping(
    sized_ui: Ui, workspace: Api
) -> None:
    ui = sized_ui
    page = ui.page
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    ui.sign_in(workspace.token)
    expect(page).to_have_url(re.compile(r"#/import$"))
    _start_csv_import(ui)
    expect(page).to_have_url(re.compile(r"#/import/csv$"))
    ui.drop_file("#drop-zone", "signups.csv", SIGNUPS)

    # Preview: its own address; Back returns to the file step, Forward to the preview.
    import_id = _step(ui, "preview", "Check the preview")
    preview = page.get_by_role("region", name="Preview of the file")
    expect(preview.locator("tbody tr")).to_have_count(3)
    page.go_back()
    expect(page.get_by_role("heading", name="Upload your CSV file")).to_be_visible()
    expect(page.get_by_test_id("uploaded-already")).to_contain_text("signups.csv is uploaded.")
    ui.shot("00-back-to-the-file")
    page.go_forward()
    _step(ui, "preview", "Check the preview")
    page.reload()
    assert _step(ui, "preview", "Check the preview") == import_id
    expect(preview.locator("caption")).to_have_text("First 3 rows of signups.csv")
    expect(page.get_by_test_id("detected-delimiter")).to_have_text("Comma ( , )")
    ui.no_horizontal_scroll()
    ui.shot("01-preview-reloaded")
    page.get_by_role("button", name="Continue").click()

    # Columns: the choices made here survive Back, Forward and a reload.
    _step(ui, "columns", "Match the columns")
    expect(page.get_by_role("heading", name="Match the columns")).to_be_focused()
    page.get_by_label("Name", exact=True).select_option("Full name")
    page.get_by_label("Default country for phone numbers").select_option("GB")
    page.get_by_label("Attribute name for “Plan”").fill("plan level")
    page.get_by_label("Import column “Company”").uncheck()
    page.go_back()
    _step(ui, "preview", "Check the preview")
    page.go_forward()
    _step(ui, "columns", "Match the columns")
    _columns_as_chosen(ui)
    page.reload()
    _step(ui, "columns", "Match the columns")
    _columns_as_chosen(ui)
    ui.no_horizontal_scroll()
    ui.shot("02-columns-reloaded")
    page.get_by_role("button", name="Continue").click()

    # Options: the tag, the switch and a date order, kept the same way.
    _step(ui, "options", "Tag and confirm")
    page.get_by_label("Tag", exact=True).fill("Spring 2026")
    page.get_by_role("switch", name="Trigger live messages").uncheck()
    page.get_by_text("More options").click()
    page.get_by_label("Dates like 03/04/2015").select_option("MDY")
    page.reload()
    _step(ui, "options", "Tag and confirm")
    page.get_by_text("More options").click()
    _options_as_chosen(ui)
    page.go_back()
    _step(ui, "columns", "Match the columns")
    _columns_as_chosen(ui)
    page.go_forward()
    _step(ui, "options", "Tag and confirm")
    page.get_by_text("More options").click()
    _options_as_chosen(ui)
    ui.no_horizontal_scroll()
    ui.shot("03-options-reloaded")

    # Review (a dry run): reloaded, it shows the preview again; Back goes to the options.
    page.get_by_role("button", name="Preview changes").click()
    _step(ui, "review", "Review the changes")
    expect(page.get_by_test_id("preview-rows")).to_be_visible(timeout=60_000)
    page.reload()
    _step(ui, "review", "Review the changes")
    expect(page.get_by_test_id("preview-created")).to_have_text("3", timeout=60_000)
    ui.no_horizontal_scroll()
    ui.shot("04-review-reloaded")
    page.go_back()
    _step(ui, "options", "Tag and confirm")
    page.go_forward()
    _step(ui, "review", "Review the changes")
    expect(page.get_by_test_id("preview-created")).to_have_text("3", timeout=60_000)
    assert not [u for u in posted if u.endswith("/start")], posted

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(rf"#/imports/{import_id}$"))
    _wait_completed(ui)
    people = {p["email"]: p for p in workspace.all_users(tag="Spring 2026")}
    assert set(people) == {"ann@example.com", "bob@example.com", "cat@example.com"}
    assert people["ann@example.com"]["custom_attributes"] == {"plan level": "pro"}
    assert people["ann@example.com"]["phone"] == "+442079460958"  # GB, chosen before a reload
    assert people["ann@example.com"]["user_id"] == "u1"
    assert people["bob@example.com"]["name"] == "Bob Baker"

    # Back from the import: its step's address says it was started, with the way to it.
    page.go_back()
    dead_end = page.get_by_test_id("wizard-dead-end")
    expect(dead_end.get_by_role("heading", name="This import was started already")).to_be_visible()
    expect(dead_end).to_contain_text("The import of signups.csv was started on")
    ui.no_horizontal_scroll()
    ui.shot("05-started-already")
    dead_end.get_by_role("link", name="See the import").click()
    expect(page).to_have_url(re.compile(rf"#/imports/{import_id}$"))
    _wait_completed(ui)


def test_enter_in_the_tag_field_never_starts_an_import(sized_ui: Ui, workspace: Api) -> None:
    ui = sized_ui
    page = ui.page
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    ui.sign_in(workspace.token)
    _start_csv_import(ui)
    ui.drop_file("#drop-zone", "signups.csv", SIGNUPS)
    import_id = _step(ui, "preview", "Check the preview")
    page.get_by_role("button", name="Continue").click()
    _step(ui, "columns", "Match the columns")
    page.get_by_role("button", name="Continue").click()
    _step(ui, "options", "Tag and confirm")

    # A file: Enter previews (a dry run changes nothing); importing takes the Import click.
    tag = page.get_by_label("Tag", exact=True)
    tag.fill("Spring 2026")
    tag.press("Enter")
    _step(ui, "review", "Review the changes")
    # Two phones have no country code and none was chosen: one person would be created.
    expect(page.get_by_test_id("preview-created")).to_have_text("1", timeout=60_000)
    assert not [u for u in posted if u.endswith("/start")], posted
    assert workspace.status(import_id)["status"] == "previewed"
    assert workspace.all_users() == []
    ui.shot("01-enter-previews")

    # A remote source: Enter in the tag field does nothing at all.
    page.get_by_role("button", name="Start over").click()
    expect(page).to_have_url(re.compile(r"#/import$"))
    page.get_by_label("MailChimp").check()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"#/import/mailchimp$"))
    page.get_by_label("API key").fill("0123456789abcdef-us21")
    page.get_by_label("Audience (list) ID").fill("abc123")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"#/import/mailchimp/options$"))
    tag = page.get_by_label("Tag", exact=True)
    tag.fill("From MailChimp")
    before = len(posted)
    tag.press("Enter")
    page.get_by_role("switch", name="Trigger live messages").press("Enter")
    page.wait_for_timeout(500)  # what a submit would have sent by now
    assert posted[before:] == [], posted[before:]
    expect(page.get_by_role("heading", name="Tag and confirm")).to_be_visible()
    assert workspace.ok("GET", "/api/imports")["data"][0]["id"] == import_id  # no new import
    ui.no_horizontal_scroll()
    ui.shot("02-remote-enter-does-nothing")

    # Reloaded, the credentials are not kept: the page asks for them again.
    page.reload()
    expect(page).to_have_url(re.compile(r"#/import/mailchimp$"))
    expect(page.get_by_role("status").filter(has_text="enter them again")).to_be_visible()
    expect(page.get_by_label("API key")).to_have_value("")
    expect(page.get_by_label("Audience (list) ID")).to_have_value("abc123")
    ui.shot("03-credentials-again")


def test_addresses_of_no_upload_and_of_an_unfinished_one(ui: Ui, workspace: Api) -> None:
    uploaded = workspace.upload(SIGNUPS.encode(), name="later.csv")
    page = ui.page
    ui.sign_in(workspace.token)

    # An import that does not exist: said, with the way to upload a file.
    page.goto(f"{ui.base_url}/#/import/imp_doesnotexist/columns")
    dead_end = page.get_by_test_id("wizard-dead-end")
    expect(dead_end.get_by_role("heading", name="There is no such upload")).to_be_visible()
    expect(dead_end).to_contain_text("No import “imp_doesnotexist” exists in this workspace")
    ui.shot("01-no-such-upload")
    dead_end.get_by_role("link", name="Upload a file").click()
    expect(page.get_by_role("heading", name="How do you want to import?")).to_be_visible()

    # An upload never started, opened from the history in a new tab: its page continues it,
    # the columns offered by the server, the review (no dry run yet) going to the options.
    page.goto(f"{ui.base_url}/#/imports/{uploaded['id']}")
    page.get_by_role("link", name="Continue the import").click()
    _step(ui, "preview", "Check the preview")
    page.goto(f"{ui.base_url}/#/import/{uploaded['id']}/review")
    _step(ui, "options", "Tag and confirm")
    expect(page.locator("dl.summary")).to_contain_text("Email ← E-mail")
    page.get_by_role("button", name="Back").click()
    _step(ui, "columns", "Match the columns")
    expect(page.get_by_label("Email (required)")).to_have_value("E-mail")
    ui.shot("02-continued")

    # The first step offers to continue it; a bad step name is no step.
    ui.nav("Import people")
    resume = page.get_by_test_id("resume")
    expect(resume).to_contain_text("You have not finished importing later.csv.")
    resume.get_by_role("link", name="Continue where you left off").click()
    _step(ui, "columns", "Match the columns")
    page.goto(f"{ui.base_url}/#/import/{uploaded['id']}/nonsense")
    expect(page.get_by_role("heading", name="There is no such step")).to_be_visible()


# -- people -----------------------------------------------------------------------------------

TAG = "New Sign-Ups 2015"


def _seed_people(workspace: Api) -> None:
    """120 users: 98 with TAG, every third on plan pro, and one lead."""
    people: list[dict[str, Any]] = []
    for i in range(1, 121):
        person: dict[str, Any] = {
            "email": f"person{i}@example.com",
            "user_id": f"u{1000 + i}",
            "name": f"Person {i}",
            "custom_attributes": {"plan": "pro" if i % 3 == 0 else "free", "seats": i},
        }
        if i <= 98:
            person["tags"] = [TAG]
        people.append(person)
    bulk = workspace.ok("POST", "/api/users/bulk", 202, json=people)
    assert workspace.wait(bulk["id"])["counts"]["created"] == 120
    workspace.ok("POST", "/api/users", json={"email": "lead@example.com", "role": "lead"})


def _search(ui: Ui, text: str) -> None:
    search = ui.page.get_by_label("Search people")
    search.fill(text)
    search.press("Enter")


def test_people_search_by_user_id_tag_and_attribute_with_counts(
    sized_ui: Ui, workspace: Api
) -> None:
    _seed_people(workspace)
    ui = sized_ui
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("People")
    count = page.get_by_test_id("result-count")
    rows = page.locator("#people-results tbody tr")
    expect(count).to_have_text("121 people in this workspace, newest first")
    expect(page.locator(".people-search .hint")).to_contain_text("plan: pro")
    ui.no_horizontal_scroll()
    ui.shot("01-everyone")

    # A user ID, exactly: u1042 finds its user; u104 is no one's (u1040…u1049 only hold it).
    _search(ui, "u1042")
    expect(count).to_have_text("1 person matching “u1042”")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td[data-label='User ID']")).to_have_text("u1042")
    _search(ui, "u104")
    expect(count).to_have_text("0 people matching “u104”")

    # A tag with quotes and without: the real count, 50 shown, then the rest.
    _search(ui, f'tag: "{TAG}"')
    expect(count).to_have_text(f'98 people matching “tag: "{TAG}"”')
    expect(rows).to_have_count(50)
    expect(page.locator("#people-results caption")).to_have_text("People: the first 50 of 98")
    ui.no_horizontal_scroll()
    ui.shot("02-quoted-tag")
    page.get_by_role("button", name="Show the other 48").click()
    expect(rows).to_have_count(98)
    _search(ui, f"tag: {TAG}")
    expect(count).to_have_text(f"98 people matching “tag: {TAG}”")

    # A custom attribute, with and without "custom.", and a number compared.
    _search(ui, "plan: pro")
    expect(count).to_have_text("40 people matching “plan: pro”")
    _search(ui, "custom.plan: pro")
    expect(count).to_have_text("40 people matching “custom.plan: pro”")
    _search(ui, "seats > 115")
    expect(count).to_have_text("5 people matching “seats > 115”")
    _search(ui, "role: lead")
    expect(count).to_have_text("1 person matching “role: lead”")
    ui.shot("03-attribute")

    # A key that names nothing is said in words, with what can be searched.
    _search(ui, "colour: red")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This search cannot run")
    expect(alert).to_contain_text(
        "There is no field or custom attribute “colour” in this workspace."
    )
    expect(alert).to_contain_text("or a custom attribute (plan, seats)")
    expect(alert).not_to_contain_text("filter")
    ui.no_horizontal_scroll()
    ui.shot("04-unknown-attribute")


def test_a_failed_row_leads_to_its_import(sized_ui: Ui, workspace: Api) -> None:
    workspace.ok("POST", "/api/users", json={"email": "ann@example.com", "name": "Ann"})
    done = workspace.import_csv(
        _csv(
            "email,name,phone",
            "zed@example.com,Zed,020 7946 0958",  # no country code, no default: the row fails
            "ann@example.com,Ann Archer,07700 900001",  # Ann exists: her update fails
            "bob@example.com,Bob,+442079460959",
        ).encode(),
        mapping={"email": "email", "name": "name", "phone": "phone"},
        tag="Phones",
    )
    assert done["counts"]["failed"] == 2
    ui = sized_ui
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("People")

    # Nobody is found: the failed row says why, with the way to its import.
    _search(ui, "zed@example.com")
    expect(page.get_by_test_id("result-count")).to_have_text("0 people matching “zed@example.com”")
    failed = page.get_by_test_id("failed-naming")
    expect(failed.get_by_role("heading")).to_have_text(
        "Nobody matches, but import rows for “zed@example.com” failed"
    )
    expect(failed).to_contain_text("Row 1 of people.csv")
    expect(failed).to_contain_text("phone")
    expect(failed).to_contain_text("row 1 is line 2 of the file")
    ui.no_horizontal_scroll()
    ui.shot("01-nobody-but-a-failed-row")
    failed.get_by_role("link", name="See the import of people.csv").click()
    expect(page).to_have_url(re.compile(rf"#/imports/{done['id']}$"))
    _wait_completed(ui)

    # A person whose row failed: their page lists it.
    ui.nav("People")
    _search(ui, "email: ann@example.com")
    page.get_by_role("link", name="Ann", exact=True).click()
    expect(page.get_by_role("heading", name="Ann", level=1)).to_be_visible()
    section = page.get_by_test_id("failed-naming")
    expect(section.get_by_role("heading")).to_have_text("Import rows for this person that failed")
    expect(section).to_contain_text("Row 2 of people.csv")
    ui.no_horizontal_scroll()
    ui.shot("02-person-with-a-failed-row")
    section.get_by_role("link", name="See the import of people.csv").click()
    expect(page).to_have_url(re.compile(rf"#/imports/{done['id']}$"))
