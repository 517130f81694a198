"""The web UI in a real browser, importing people and finding them: the seed's journey, error
reports, the mapping's checks of the columns, the upload's progress, narrow screens.

Each test signs in to a workspace of its own with its token, drives the UI the way a person does
(labels, buttons, drag and drop) and checks what the page shows and what the API then holds.
Screenshots of every page land in tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from tests.browser._helpers import _start_csv_import, _wait_completed, expect
from tests.browser.conftest import ARTIFACTS, Ui
from tests.support.api import Api

TAG = "New Sign-Ups 2015"


SIGNUPS = (
    "E-mail,Customer number,Full name,Joined,Plan,Company\n"
    "ann@example.com,u1,Ann Archer,01/02/2015,pro,Acme\n"
    "bob@example.com,u2,Bob Baker,2015-03-04,free,Bobco\n"
    "cat@example.com,u3,Cat Cole,1420070400,pro,Catnip\n"
)


def test_seed_journey(ui: Ui, workspace: Api) -> None:
    # Someone already in the workspace, with another tag: the search must not return them.
    workspace.ok("POST", "/api/users", json={"email": "old@example.com", "tags": ["Old list"]})
    page = ui.page

    page.goto(f"{ui.base_url}/")
    expect(page.get_by_role("heading", name="Sign in to Usher")).to_be_visible()
    ui.shot("01-sign-in")
    ui.sign_in(workspace.token)

    ui.nav("Import people")
    ui.shot("02-method")
    _start_csv_import(ui)
    ui.shot("03-drop-zone")
    ui.drop_file("#drop-zone", "signups.csv", SIGNUPS)

    expect(page.get_by_role("heading", name="Check the preview")).to_be_visible()
    expect(page.get_by_test_id("detected-encoding")).to_have_text("UTF-8")
    expect(page.get_by_test_id("detected-delimiter")).to_have_text("Comma ( , )")
    expect(page.get_by_label("Encoding")).to_have_value("utf-8")
    expect(page.get_by_label("Delimiter")).to_have_value(",")
    preview = page.get_by_role("region", name="Preview of the file")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview.locator("thead th")).to_have_text(
        ["E-mail", "Customer number", "Full name", "Joined", "Plan", "Company"]
    )
    # Another delimiter re-reads the file: one column; back to the comma, six again.
    page.get_by_label("Delimiter").select_option(";")
    expect(preview.locator("thead th")).to_have_count(1)
    page.get_by_label("Delimiter").select_option(",")
    expect(preview.locator("thead th")).to_have_count(6)
    ui.shot("04-preview")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()
    page.get_by_label("Email (required)").select_option("E-mail")
    page.get_by_label("User ID", exact=True).select_option("Customer number")
    page.get_by_label("Name", exact=True).select_option("Full name")
    page.get_by_label("Sign-up date").select_option("Joined")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("")

    # The naming rules are checked as the name is typed.
    page.get_by_label("Import column “Plan”").check()
    name = page.get_by_label("Attribute name for “Plan”")
    name.fill("plan.level")
    expect(page.locator(".field-error li").first).to_contain_text("contains “.”")
    expect(name).to_have_attribute("aria-invalid", "true")
    name.fill("email")
    expect(page.locator(".field-error li").first).to_contain_text("is a standard field")
    name.fill("Plan ")
    expect(page.locator(".field-error li").first).to_contain_text("starts or ends with a space")
    name.fill("plan")
    page.get_by_label("Import column “Company”").check()
    company = page.get_by_label("Attribute name for “Company”")
    company.fill("PLAN")
    expect(company).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error li")).to_have_text(
        ["Another column already uses this name (names are compared ignoring case)."] * 2
    )
    page.get_by_label("Import column “Company”").uncheck()
    expect(company).to_be_disabled()
    expect(page.locator(".field-error li")).to_have_count(0)
    ui.shot("05-mapping")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Tag and confirm")).to_be_visible()
    page.get_by_label("Tag", exact=True).fill(TAG)
    switch = page.get_by_role("switch", name="Trigger live messages")
    expect(switch).to_be_checked()
    expect(page.locator(".live-messages")).to_contain_text("No auto message is live")
    expect(page.locator("dl.summary")).to_contain_text("Custom attribute “plan” ← Plan")
    ui.shot("06-confirm")
    page.get_by_role("button", name="Start import").click()

    expect(page).to_have_url(re.compile(r"#/imports/imp_"))
    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("3")
    expect(page.get_by_test_id("count-updated")).to_have_text("0")
    expect(page.get_by_test_id("count-failed")).to_have_text("0")
    expect(page.get_by_test_id("rows-done")).to_have_text("3 of 3")
    expect(page.get_by_test_id("rows-per-second")).to_have_text("—")  # no speed of 3 rows
    expect(page.locator(".done-line")).to_contain_text("3 created, 0 updated, 0 failed")
    ui.shot("07-progress-completed")

    ui.nav("People")
    search = page.get_by_label("Search people")
    search.fill(f"tag: {TAG}")
    search.press("Enter")
    expect(page.get_by_test_id("result-count")).to_have_text(f"3 people matching “tag: {TAG}”")
    emails = page.locator("#people-results tbody td[data-label=Email]")
    expect(emails).to_have_count(3)
    assert sorted(emails.all_text_contents()) == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    ]
    ui.shot("08-people-search")

    page.get_by_role("link", name="Ann Archer").click()
    expect(page.get_by_role("heading", name="Ann Archer", level=1)).to_be_visible()
    details = page.locator("dl.fields").first
    expect(details).to_contain_text("ann@example.com")
    expect(details).to_contain_text("u1")
    expect(page.locator("#inbox")).to_contain_text("No in-app messages yet.")
    expect(page.get_by_role("link", name=TAG)).to_be_visible()
    ui.shot("09-person")

    # What the UI did, as the API sees it.
    people = {p["email"]: p for p in workspace.all_users(tag=TAG)}
    assert set(people) == {"ann@example.com", "bob@example.com", "cat@example.com"}
    assert people["ann@example.com"]["user_id"] == "u1"
    assert people["ann@example.com"]["name"] == "Ann Archer"
    assert people["ann@example.com"]["signed_up_at"] == "2015-02-01T00:00:00Z"
    assert people["ann@example.com"]["custom_attributes"] == {"plan": "pro"}
    assert people["cat@example.com"]["signed_up_at"] == "2015-01-01T00:00:00Z"


FAILING = (
    "Email,User ID,Name,Score\n"
    "dan@example.com,d1,Dan,10\n"
    'not-an-email,d2,"=HYPERLINK(""http://x"")",20\n'
    "eve@example.com,d3,Eve,30\n"
)


def test_error_report_download(ui: Ui, workspace: Api) -> None:
    page = ui.page
    ui.sign_in(workspace.token)
    _start_csv_import(ui)

    # An API error is shown with its message: an empty file is refused.
    page.locator("#file-input").set_input_files(
        files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b""}]
    )
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("empty.csv could not be uploaded")
    expect(alert).to_contain_text("the file is empty")
    ui.shot("01-upload-error")

    ui.drop_file("#drop-zone", "scores.csv", FAILING)
    expect(page.get_by_role("heading", name="Check the preview")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Email (required)")).to_have_value("Email")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Tag", exact=True).fill("Scores")

    # The API's refusal is shown with its message and every detail it lists. The country is a
    # select of valid ones, so the request is given a code the server refuses on its way.
    def bad_country(route: Any) -> None:
        body = {**route.request.post_data_json, "default_country": "ZZ"}
        route.continue_(post_data=json.dumps(body))

    page.route("**/api/imports/*/start", bad_country)
    page.get_by_role("button", name="Start import").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The import did not start")
    expect(alert).to_contain_text("the import cannot start")
    expect(alert.locator("li")).to_have_text(
        ["default_country: 'ZZ' is not an ISO 3166 alpha-2 country code"]
    )
    ui.shot("02-start-refused")
    page.unroute("**/api/imports/*/start")
    page.get_by_role("button", name="Start import").click()

    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    expect(page.locator(".causes li.problem strong")).to_have_text(["1 email is not valid"])
    page.locator("details.failed-rows summary").click()  # the rows, folded under their causes
    failed_rows = page.get_by_role("table").filter(has_text="Failed rows")
    expect(failed_rows.locator("tbody tr")).to_have_count(1)
    expect(failed_rows).to_contain_text("not-an-email")
    ui.shot("03-summary-with-errors")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download the error report (CSV)").click()
    download = info.value
    assert download.suggested_filename == "scores - errors.csv"  # named after the upload
    report = _read_csv(download.path())
    assert report[0] == ["row", "errors", "Email", "User ID", "Name", "Score"]
    assert len(report) == 2
    row, errors, *cells = report[1]
    assert row == "2"
    assert "email" in errors.lower()
    # The original values come back, with the formula neutralised for spreadsheets.
    assert cells == ["not-an-email", "d2", '\'=HYPERLINK("http://x")', "20"]

    ui.nav("Import history")
    history = page.get_by_role("table").filter(has_text="newest first")
    first = history.locator("tbody tr").first
    expect(first.locator("td[data-label=Tag]")).to_have_text("Scores")
    expect(first.locator("td[data-label=Failed]")).to_have_text("1")
    expect(first.locator("td[data-label=Status]")).to_have_text("Completed with 1 failed")
    ui.shot("04-history")
    with page.expect_download() as again:
        first.get_by_role("button", name=re.compile("Download the error report")).click()
    assert _read_csv(again.value.path()) == report


def _read_csv(path: Any) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(io.StringIO(f.read())))


CONTACTS = (
    "Full name,Email address,Phone,Phone 1 - Label,Joined\n"
    "Ann Archer,ann@example.com,020 7946 0958,* Home,01/02/2015\n"
    "Bob Baker,bob@example.com,020 7946 0959,* Work,2015-03-04\n"
    "Cat Cole,cat@example.com,020 7946 0960,* Mobile,1420070400\n"
)


def test_mapping_checks_columns_against_their_values(ui: Ui, workspace: Api) -> None:
    page = ui.page
    ui.sign_in(workspace.token)
    _start_csv_import(ui)
    ui.drop_file("#drop-zone", "contacts.csv", CONTACTS)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()

    def messages(control_id: str) -> tuple[Any, Any]:
        """The warning and the error under a standard field's column picker."""
        wrap = page.locator("fieldset.mapping .field").filter(has=page.locator(f"#{control_id}"))
        return wrap.locator(".field-error.warning"), wrap.locator(".field-error:not(.warning)")

    email = page.get_by_label("Email (required)")
    phone = page.get_by_label("Phone", exact=True)
    proceed = page.get_by_role("button", name="Continue")
    email_warning, email_error = messages("map-email")
    name_error = messages("map-name")[1]
    phone_warning = messages("map-phone")[0]
    country = page.get_by_label("Default country for phone numbers")
    country_count = page.locator("#default-country-count")
    blocked = page.get_by_text("Fix the columns marked above before you continue.")

    # The suggestions are right, but the phone numbers have no country code: the default
    # country is offered beside the phone column, with the count.
    expect(email).to_have_value("Email address")
    expect(phone).to_have_value("Phone")
    expect(phone_warning).to_be_hidden()
    expect(country).to_have_value("")
    expect(country_count).to_have_text("3 of 3 numbers have no country code: choose their country.")
    expect(proceed).to_be_enabled()

    # A name column picked for the email (and for the name too): refused until fixed.
    email.select_option("Full name")
    shared = (
        "Column “Full name” is selected for both Email and Name: give each field its own column."
    )
    expect(email_error).to_have_text(
        f"{shared} 0 of 3 values in “Full name” look like email addresses:"
        " select the column that holds them."
    )
    expect(name_error).to_have_text(shared)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email_warning).to_be_hidden()
    expect(proceed).to_be_disabled()
    expect(blocked).to_be_visible()
    # A column of labels picked for the phone is a warning: it does not block.
    phone.select_option("Phone 1 - Label")
    expect(phone_warning).to_have_text(
        "0 of 3 values in “Phone 1 - Label” look like phone numbers:"
        " select the column that holds them, or leave this field empty."
    )
    ui.shot("01-wrong-columns")

    email.select_option("Email address")
    expect(email_error).to_be_hidden()
    expect(name_error).to_be_hidden()
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(blocked).to_have_count(0)
    expect(proceed).to_be_enabled()
    phone.select_option("Phone")
    expect(country_count).to_contain_text("3 of 3 numbers have no country code")

    # The country chosen beside the column answers it, and the confirm step says so.
    country.select_option("GB")
    expect(country_count).to_have_text(
        "3 of 3 numbers have no country code: they are read as United Kingdom numbers,"
        " and one not valid there is refused."
    )
    ui.shot("02-fixed")
    proceed.click()
    expect(page.locator("dl.summary")).to_contain_text(
        "Phone ← Phone (without a country code: United Kingdom numbers)"
    )
    page.get_by_role("button", name="Back").click()
    expect(phone).to_have_value("Phone")
    expect(country).to_have_value("GB")
    proceed.click()
    page.get_by_role("button", name="Start import").click()
    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("3")
    expect(page.get_by_test_id("count-failed")).to_have_text("0")

    people = {p["email"]: p for p in workspace.all_users()}
    assert people["ann@example.com"]["name"] == "Ann Archer"
    assert people["ann@example.com"]["phone"] == "+442079460958"
    assert people["ann@example.com"]["signed_up_at"] == "2015-02-01T00:00:00Z"


def test_narrow_layout(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    page = ui.page
    done = workspace.import_csv(
        b"Email,User ID,Name,Favourite colour\n"
        b"a.very.long.address.for.layout@some-long-domain-name.example.com,n1,Nora North,teal\n"
        b"oscar@example.com,n2,Oscar,plum\nnot-valid,n3,Bad,none\n"
        b"xss@example.com,n4,<img src=x onerror=window.__xss=1>,red\n",
        kind="users",
        mapping={"email": "Email", "user_id": "User ID", "name": "Name"},
        custom_attributes={"Favourite colour": "favourite colour"},
        tag="Phone list",
    )
    assert done["counts"]["failed"] == 1

    page.goto(f"{ui.base_url}/")
    ui.no_horizontal_scroll()
    ui.shot("01-sign-in")
    ui.sign_in(workspace.token)

    ui.no_horizontal_scroll()
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    # The navigation folds behind Menu: one line of header; opened, 44 px links.
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    assert page.locator("header").bounding_box()["height"] < 70
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    ui.shot("02-method")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    for link in page.get_by_role("navigation", name="Main").get_by_role("link").all():
        assert link.bounding_box()["height"] >= 44, link.inner_text()
    ui.page.screenshot(path=str(ARTIFACTS / f"{ui.name}-02-menu.png"))
    menu.click()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#drop-zone")).to_be_visible()
    expect(page.get_by_text("Choose a file")).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("03-drop-zone")

    ui.nav("Import history")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name=re.compile("Download the error report"))).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("04-history")

    page.locator("tbody tr").first.locator("td[data-label=Date]").get_by_role("link").click()
    expect(page.get_by_test_id("progress-percent")).to_have_text("100 %")
    expect(page.get_by_role("button", name="Download the error report (CSV)")).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("05-import-summary")

    ui.nav("People")
    search = page.get_by_label("Search people")
    expect(search).to_be_visible()
    search.fill("tag: Phone list")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("result-count")).to_contain_text("3 people")
    # Data is shown as text, never run as HTML.
    expect(page.get_by_role("link", name="<img src=x onerror=window.__xss=1>")).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert page.locator("#people-results img").count() == 0
    ui.no_horizontal_scroll()
    ui.shot("06-people")
    page.get_by_role("link", name="Nora North").click()
    expect(page.get_by_role("heading", name="Nora North")).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("07-person")

    ui.nav("Messages")
    page.get_by_role("link", name="New message").click()
    page.get_by_role("button", name="Add a rule").click()
    page.get_by_label("Rule 2 field").select_option("signed_up_at")
    page.get_by_label("Rule 2 operator").select_option("after")
    page.get_by_label("Rule 2 value is a").select_option("days_ago")
    page.get_by_label("Rule 2 value", exact=True).fill("30")
    for control in ("Name (required)", "Channel", "Rule 1 field", "Rule 2 value is a"):
        expect(page.get_by_label(control, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Save and go live")).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("08-new-message")


def test_upload_progress_bar(ui: Ui, workspace: Api) -> None:
    page = ui.page
    ui.sign_in(workspace.token)
    _start_csv_import(ui)
    # A slow uplink (256 KB/s) makes the XMLHttpRequest progress events observable.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 256_000},
    )
    rows = "".join(f"person{i}@example.com,id{i},Person {i}\n" for i in range(40_000))
    ui.drop_file("#drop-zone", "big.csv", "Email,User ID,Name\n" + rows)
    expect(page.get_by_text("Uploading big.csv")).to_be_visible()
    bar = page.locator("#upload-progress")
    page.wait_for_function(
        "() => { const bar = document.querySelector('#upload-progress');"
        " return bar && bar.value > 0 && bar.value < 100 }"
    )
    expect(page.locator(".upload-progress .percent")).to_have_text(re.compile(r"^\d{1,2} %$"))
    ui.shot("01-uploading")
    expect(page.get_by_role("heading", name="Check the preview")).to_be_visible(timeout=60_000)
    expect(bar).to_have_count(0)
    expect(
        page.get_by_role("region", name="Preview of the file").locator("tbody tr")
    ).to_have_count(10)
