"""The web UI in a real browser: the seed's journey, error reports, live messages, narrow screens.

Each test signs in to a workspace of its own with its token, drives the UI the way a person does
(labels, buttons, drag and drop) and checks what the page shows and what the API then holds.
Screenshots of every page land in tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from typing import Any

import pytest

from tests.browser.conftest import Ui
from tests.support.api import Api
from tests.support.env import IN_CI

try:
    from playwright.sync_api import expect
except ImportError:  # a dev dependency; without it the module is skipped, except in CI
    if IN_CI:
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

TAG = "New Sign-Ups 2015"
MC_KEY = "0123456789abcdef0123456789abcdef-us6"


def _fake_mailchimp() -> Any:
    """The loopback MailChimp of the remote-import tests, with three members, if present."""
    try:
        from tests.e2e.vendors import FakeMailchimp, mailchimp_member
    except ImportError:
        return None
    return FakeMailchimp(MC_KEY, {"list1": [mailchimp_member(i, "list1") for i in range(3)]})


SIGNUPS = (
    "E-mail,Customer number,Full name,Joined,Plan,Company\n"
    "ann@example.com,u1,Ann Archer,01/02/2015,pro,Acme\n"
    "bob@example.com,u2,Bob Baker,2015-03-04,free,Bobco\n"
    "cat@example.com,u3,Cat Cole,1420070400,pro,Catnip\n"
)


def _wait_completed(ui: Ui) -> None:
    page = ui.page
    expect(page.get_by_test_id("progress-percent")).to_have_text("100 %", timeout=90_000)
    expect(page.locator(".badge.status-completed")).to_have_text("Completed")


def _start_csv_import(ui: Ui) -> None:
    """From the wizard's first step to the file step, choosing CSV and users."""
    page = ui.page
    page.get_by_label("CSV file").check()
    page.get_by_label("Users", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Upload your CSV file")).to_be_visible()


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
    expect(page.get_by_test_id("rows-per-second")).to_contain_text("rows/s")
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

    # The API's refusal is shown with its message and every detail it lists.
    page.get_by_text("More options").click()
    country = page.get_by_label("Default country for phone numbers")
    country.fill("ZZ")
    page.get_by_role("button", name="Start import").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The import did not start")
    expect(alert).to_contain_text("the import cannot start")
    expect(alert.locator("li")).to_have_text(
        ["default_country: 'ZZ' is not an ISO 3166 alpha-2 country code"]
    )
    ui.shot("02-start-refused")
    country.fill("")
    page.get_by_role("button", name="Start import").click()

    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    failed_rows = page.get_by_role("table").filter(has_text="Failed rows")
    expect(failed_rows.locator("tbody tr")).to_have_count(1)
    expect(failed_rows).to_contain_text("not-an-email")
    ui.shot("03-summary-with-errors")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download error report (CSV)").click()
    download = info.value
    import_id = page.url.rsplit("/", 1)[1]
    assert download.suggested_filename == f"errors-{import_id}.csv"
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
    expect(first.locator("td[data-label=Status]")).to_have_text("Completed")
    ui.shot("04-history")
    with page.expect_download() as again:
        first.get_by_role("button", name=re.compile("Download the error report")).click()
    assert _read_csv(again.value.path()) == report


def _read_csv(path: Any) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(io.StringIO(f.read())))


def test_live_message_reaches_imported_persons_inbox(ui: Ui, workspace: Api) -> None:
    # Someone with the tag but on the free plan: counted by the first rule, not by both.
    workspace.ok(
        "POST",
        "/api/users",
        json={
            "email": "fred@example.com",
            "tags": ["VIP 2024"],
            "custom_attributes": {"plan": "free"},
        },
    )
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("Messages")
    expect(page.get_by_text("No messages yet.")).to_be_visible()
    page.get_by_role("link", name="New message").click()
    expect(page.get_by_role("heading", name="New message")).to_be_visible()

    page.get_by_label("Name (required)").fill("Welcome VIPs")
    page.get_by_label("Auto", exact=True).check()
    page.get_by_label("Channel").select_option("in_app")
    page.get_by_label("Subject").fill("Hi {{name}}")
    page.get_by_label("Body").fill("Welcome aboard. Your plan: {{custom.plan}}")

    count = page.get_by_test_id("audience-count")
    page.get_by_label("Rule 1 field").select_option("tag")
    page.get_by_label("Rule 1 operator").select_option("eq")
    page.get_by_label("Rule 1 value").fill("VIP 2024")
    expect(count).to_have_text("1")

    page.get_by_role("button", name="Add a rule").click()
    page.get_by_label("Join rule 2").select_option("and")
    page.get_by_label("Rule 2 field").select_option("custom")
    page.get_by_label("Rule 2 attribute name").fill("plan")
    page.get_by_label("Rule 2 operator").select_option("eq")
    page.get_by_label("Rule 2 value").fill("pro")
    expect(count).to_have_text("0")

    # An OR rule widens the audience; removing it narrows it again.
    page.get_by_role("button", name="Add a rule").click()
    page.get_by_label("Join rule 3").select_option("or")
    page.get_by_label("Rule 3 field").select_option("email")
    page.get_by_label("Rule 3 operator").select_option("ends_with")
    page.get_by_label("Rule 3 value").fill("@example.com")
    expect(count).to_have_text("1")
    ui.shot("01-rule-builder")
    page.get_by_role("button", name="Remove rule 3").click()
    expect(count).to_have_text("0")

    page.get_by_role("button", name="Save and go live").click()
    expect(page.get_by_role("heading", name="Welcome VIPs", level=1)).to_be_visible()
    expect(page.locator(".badge.state-live")).to_have_text("Live")
    expect(page.locator("dl.fields")).to_contain_text(
        "Tag has the tag “VIP 2024” AND plan is “pro”"
    )
    ui.shot("02-message-live")

    message = workspace.ok("GET", "/api/messages")["data"][0]
    assert message["audience"] == {
        "and": [
            {"field": "tag", "op": "eq", "value": "VIP 2024"},
            {"field": "custom.plan", "op": "eq", "value": "pro"},
        ]
    }
    assert (message["type"], message["channel"], message["state"]) == ("auto", "in_app", "live")

    # Import the people through the wizard: it lists the live message the import can trigger.
    ui.nav("Import people")
    _start_csv_import(ui)
    ui.drop_file(
        "#drop-zone",
        "vips.csv",
        "Email,Name,Plan\nvera@example.com,Vera,pro\nwill@example.com,Will,free\n",
    )
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Import column “Plan”").check()
    page.get_by_label("Attribute name for “Plan”").fill("plan")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Tag", exact=True).fill("VIP 2024")
    expect(page.get_by_role("switch", name="Trigger live messages")).to_be_checked()
    live = page.locator(".live-messages")
    expect(live).to_contain_text("these live messages go to every imported person who matches")
    expect(live.get_by_role("listitem")).to_have_text(["Welcome VIPs (in-app)"])
    ui.shot("03-import-triggers")
    page.get_by_role("button", name="Start import").click()
    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    event = workspace.request(
        "POST",
        "/api/events",
        json={
            "event_name": "upgraded",
            "created_at": "2024-05-01T10:00:00Z",
            "email": "vera@example.com",
            "metadata": {"to": "gold"},
        },
    )
    events_served = event.status_code not in (404, 405)
    assert event.status_code == 202 or not events_served, event.text

    ui.nav("People")
    page.get_by_label("Search people").fill("vera@example.com")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Vera").click()
    expect(page.get_by_role("heading", name="Vera", level=1)).to_be_visible()
    inbox = page.locator("#inbox")

    def inbox_text() -> str:
        expect(inbox).not_to_contain_text("Loading")
        return inbox.inner_text()

    # Delivery is asynchronous (the messenger service): reload until it arrives.
    deadline = time.monotonic() + 60
    while "Hi Vera" not in inbox_text() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(inbox.locator(".subject")).to_have_text(["Hi Vera"])
    expect(inbox.locator(".body")).to_have_text(["Welcome aboard. Your plan: pro"])
    events = page.locator("#events")
    if events_served:
        expect(events.locator("tbody tr")).to_have_count(1)
        expect(events).to_contain_text("upgraded")
        expect(events).to_contain_text("to: gold")
    else:
        expect(events).to_contain_text("Events are not available on this server yet.")
    ui.shot("04-inbox")

    # The message's page lists the delivery; the list pauses it.
    inbox.get_by_role("link", name="Welcome VIPs").click()
    deliveries = page.get_by_role("table").filter(has_text=re.compile(r"\d+ deliver(y|ies)"))
    expect(deliveries.locator("tbody tr")).to_have_count(1)
    expect(deliveries).to_contain_text("vera@example.com")
    expect(deliveries).to_contain_text("delivered")
    ui.shot("05-deliveries")
    ui.nav("Messages")
    page.get_by_role("button", name="Pause “Welcome VIPs”").click()
    expect(page.locator(".badge.state-paused")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Go live with “Welcome VIPs”")).to_be_focused()
    ui.shot("06-messages-list")
    assert workspace.ok("GET", f"/api/messages/{message['id']}")["state"] == "paused"
    # Will is on the free plan: not in the audience, so his inbox stays empty.
    will = workspace.all_users(email="will@example.com")[0]
    assert workspace.ok("GET", f"/api/users/{will['id']}/messages")["data"] == []


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
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    ui.shot("02-method")
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

    page.locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_test_id("progress-percent")).to_have_text("100 %")
    expect(page.get_by_role("button", name="Download error report (CSV)")).to_be_visible()
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


def test_a_message_to_everyone_must_be_meant(ui: Ui, workspace: Api) -> None:
    """With no rules a message goes to everyone: the form asks for that to be ticked."""
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("Messages")
    page.get_by_role("link", name="New message").click()
    page.get_by_label("Name (required)").fill("Everyone")
    page.get_by_role("button", name="Remove rule 1").click()
    expect(page.get_by_text("No rules: the message is for everyone.")).to_be_visible()
    page.get_by_role("button", name="Save as paused").click()
    expect(page.get_by_role("alert")).to_contain_text("Send to everyone in the workspace")
    assert workspace.ok("GET", "/api/messages")["data"] == []
    page.get_by_label("Send to everyone in the workspace when there are no rules").check()
    ui.shot("01-everyone-ticked")
    page.get_by_role("button", name="Save as paused").click()
    expect(page.get_by_role("heading", name="Everyone", level=1)).to_be_visible()
    expect(page.locator("dl.fields")).to_contain_text("Everyone")
    assert workspace.ok("GET", "/api/messages")["data"][0]["audience"] == {"and": []}


def test_sign_in_errors_and_remote_source_forms(ui: Ui, workspace: Api) -> None:
    page = ui.page
    page.goto(f"{ui.base_url}/#/people")
    page.get_by_label("Workspace token").fill("not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid token")
    ui.shot("01-bad-token")

    # Signing in (keyboard only: the token field has the focus) returns to the page asked
    # for; signing out forgets the token.
    page.get_by_label("Workspace token").fill("")
    expect(page.get_by_label("Workspace token")).to_be_focused()
    page.keyboard.type(workspace.token)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    assert page.evaluate("sessionStorage.getItem('usher.token')") is None
    ui.sign_in(workspace.token)

    # MailChimp: the credential form; a server without the route says so plainly.
    page.get_by_label("MailChimp").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Connect to MailChimp")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("Fill in the required fields")
    page.get_by_label("API key").fill(MC_KEY)
    page.get_by_label("Audience (list) ID").fill("list1")
    page.get_by_text("Advanced").click()
    page.get_by_label("API base URL").fill("http://127.0.0.1:9")
    ui.shot("02-mailchimp-form")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Tag", exact=True).fill("From MailChimp")

    # Answered here, not by the server (whose parser would keep retrying a dead address): what
    # the UI sends, and a 405 (a server without the route) becomes a plain sentence.
    sent: list[Any] = []
    missing = {"error": {"code": "method_not_allowed", "message": "Method Not Allowed"}}

    def not_served(route: Any) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(status=405, json=missing)

    page.route("**/api/imports/mailchimp", not_served)
    page.get_by_role("button", name="Start import").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "MailChimp import is not available on this server yet."
    )
    assert sent == [
        {
            "api_key": MC_KEY,
            "list_id": "list1",
            "status": "subscribed",
            "base_url": "http://127.0.0.1:9",
            "kind": "users",
            "tag": "From MailChimp",
            "trigger_messages": True,
        }
    ]
    ui.shot("03-mailchimp-not-served")
    page.unroute("**/api/imports/mailchimp")

    # Where the server has the route and the loopback MailChimp exists, the real thing.
    served = workspace.request("POST", "/api/imports/mailchimp", json={}).status_code
    fake = _fake_mailchimp()
    if served not in (404, 405) and fake is not None:
        with fake as server:
            page.get_by_role("button", name="Back").click()
            page.get_by_label("API base URL").fill(server.base_url)
            page.get_by_role("button", name="Continue").click()
            page.get_by_role("button", name="Start import").click()
            expect(page).to_have_url(re.compile(r"#/imports/imp_"))
            expect(
                page.get_by_role("heading", name=re.compile("MailChimp"), level=1)
            ).to_be_visible()
            _wait_completed(ui)
            expect(page.get_by_test_id("count-created")).to_have_text("3")
            ui.shot("04-mailchimp-import")
        assert {p["email"] for p in workspace.all_users(tag="From MailChimp")} == {
            f"member{i}@example.com" for i in range(3)
        }
        ui.nav("Import people")
    else:
        page.get_by_role("button", name="Start over").click()

    # Mixpanel shows its own form.
    page.get_by_label("Mixpanel").check()
    page.get_by_role("button", name="Continue").click()
    for label in (
        "Project ID",
        "Service account username",
        "Service account secret",
        "Data residency",
    ):
        expect(page.get_by_label(label)).to_be_visible()
    ui.shot("05-mixpanel-form")

    # Or its people export, a JSON file: previewed, mapped by the server, imported.
    page.get_by_label("Upload a people export (JSON)").check()
    profiles = [
        {
            "$distinct_id": f"mp{i}",
            "$properties": {"$email": f"mp{i}@example.com", "$name": f"Mix {i}", "seats": i},
        }
        for i in range(1, 4)
    ]
    ui.drop_file("#drop-zone", "people.json", json.dumps(profiles), "application/json")
    refused = page.get_by_role("alert").filter(has_text="is not a file source")
    heading = page.get_by_role("heading", name="Check the preview")
    expect(heading.or_(refused)).to_be_visible()
    if heading.is_visible():
        expect(page.locator(".detected")).to_contain_text("mapped automatically")
        expect(page.get_by_label("Delimiter")).to_have_count(0)
        ui.shot("06-mixpanel-export-preview")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("dl.summary")).to_contain_text("Mapped automatically")
        page.get_by_label("Tag", exact=True).fill("Mixpanel export")
        page.get_by_role("button", name="Start import").click()
        _wait_completed(ui)
        expect(page.get_by_test_id("count-created")).to_have_text("3")
        mixed = {p["email"]: p for p in workspace.all_users(tag="Mixpanel export")}
        assert mixed["mp2@example.com"]["user_id"] == "mp2"
        assert mixed["mp2@example.com"]["custom_attributes"] == {"seats": 2}

    # A person's events on a server without the events route: said plainly, the rest still shows.
    person = workspace.ok("POST", "/api/users", json={"email": "ida@example.com", "name": "Ida"})
    page.route(
        "**/api/users/*/events*",
        lambda route: route.fulfill(
            status=404, json={"error": {"code": "not_found", "message": "Not Found"}}
        ),
    )
    page.goto(f"{ui.base_url}/#/people/{person['contact']['id']}")
    expect(page.get_by_role("heading", name="Ida", level=1)).to_be_visible()
    expect(page.locator("#events")).to_contain_text("Events are not available on this server yet.")
    expect(page.locator("#inbox")).to_contain_text("No in-app messages yet.")


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
