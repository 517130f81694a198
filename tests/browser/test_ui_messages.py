"""The web UI in a real browser, messages and remote sources: a live message reaching an imported
person's inbox, a message to everyone, sign-in errors and the MailChimp and Mixpanel forms.

Like tests/browser/test_ui.py: a workspace of its own per test, driven the way a person does,
screenshots in tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.browser._helpers import _start_csv_import, _wait_completed, expect
from tests.browser.conftest import Ui
from tests.support.api import Api

MC_KEY = "0123456789abcdef0123456789abcdef-us6"


def _fake_mailchimp() -> Any:
    """The loopback MailChimp of the remote-import tests, with three members, if present."""
    try:
        from tests.support.vendors import FakeMailchimp, mailchimp_member
    except ImportError:
        return None
    return FakeMailchimp(MC_KEY, {"list1": [mailchimp_member(i, "list1") for i in range(3)]})


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

    # Going live asks first, with who it reaches now: nobody yet (Fred is on the free plan).
    page.get_by_role("button", name="Save and go live").click()
    dialog = page.get_by_role("dialog", name="Go live with “Welcome VIPs”?")
    expect(dialog.get_by_test_id("reach-count")).to_have_text("0 people")
    dialog.get_by_role("button", name="Go live").click()
    expect(page.get_by_role("heading", name="Welcome VIPs", level=1)).to_be_visible()
    expect(page.locator(".badge.state-live")).to_have_text("Live")
    expect(page.locator("dl.fields")).to_contain_text("Has the tag “VIP 2024” AND plan is “pro”")
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
    # The column goes into the workspace's attribute of that name (ticked, picked already).
    expect(page.get_by_label("Import column “Plan”")).to_be_checked()
    expect(page.get_by_label("Attribute for “Plan”")).to_have_value("plan")
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


def test_a_message_to_everyone_must_be_meant(ui: Ui, workspace: Api) -> None:
    """With no rules a message goes to everyone: the form asks for that to be ticked."""
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("Messages")
    page.get_by_role("link", name="New message").click()
    page.get_by_label("Name (required)").fill("Everyone")
    everyone = page.get_by_label("Send to everyone in the workspace when there are no rules")
    expect(everyone).to_be_hidden()  # offered only when there are no rules
    page.get_by_role("button", name="Remove rule 1").click()
    expect(page.get_by_text("No rules: the message is for everyone.")).to_be_visible()
    expect(everyone).to_be_visible()
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("alert")).to_contain_text("Send to everyone in the workspace")
    assert workspace.ok("GET", "/api/messages")["data"] == []
    everyone.check()
    ui.shot("01-everyone-ticked")
    page.get_by_role("button", name="Save as draft").click()
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
    # for; signing out ends the session.
    page.get_by_label("Workspace token").fill("")
    expect(page.get_by_label("Workspace token")).to_be_focused()
    page.keyboard.type(workspace.token)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    assert not [c for c in page.context.cookies() if c["name"] == "usher_session" and c["value"]]
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
