"""Safe sending in a real browser, at desktop and phone size: going live only after a
confirmation with its count, a fallback in the preview, a refused placeholder on its field,
the email channel without a mail server explained, failed deliveries as sentences with a
retry, and a message edited (a new version), duplicated and archived.

Like the other browser tests: a workspace of its own per test, driven the way a person does,
screenshots in tests/artifacts/ (looked at, not only asserted on).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._helpers import expect
from tests.browser.conftest import ARTIFACTS, Ui
from tests.support.api import Api
from tests.support.env import SMTP_PORT
from tests.support.mail import MailServer

VIP = {"field": "tag", "op": "eq", "value": "VIP"}
REFUSED = f"The mail server at 127.0.0.1:{SMTP_PORT} refused the connection"


def _people(workspace: Api) -> None:
    for body in (
        {"email": "other@example.com", "name": "Other Person"},
        {"email": "anon@example.com", "tags": ["VIP"]},
        {
            "email": "zoe@example.com",
            "name": "Zoe Patel",
            "tags": ["VIP"],
            "custom_attributes": {"plan": "pro"},
        },
    ):
        workspace.ok("POST", "/api/users", json=body)


def _screen(ui: Ui, label: str) -> None:
    """What the screen shows at once: a modal dialog over a long page (a full-page shot
    stretches the page behind it)."""
    ui.page.screenshot(path=str(ARTIFACTS / f"{ui.name}-{label}.png"))


def _new_message(ui: Ui, name: str) -> Any:
    page = ui.page
    ui.nav("Messages")
    page.get_by_role("link", name="New message").click()
    expect(page.get_by_role("heading", name="New message", level=1)).to_be_visible()
    page.get_by_label("Name (required)").fill(name)
    return page


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """The stack's mail server, down until the test starts it."""
    server = MailServer()
    yield server
    server.stop()


def test_going_live_asks_first_with_the_count(ui: Ui, workspace: Api) -> None:
    _people(workspace)
    ui.sign_in(workspace.token)
    page = _new_message(ui, "Welcome VIPs")
    page.get_by_label("Subject").fill("Hi {{name}}")
    page.get_by_label("Rule 1 value").fill("VIP")
    expect(page.get_by_test_id("audience-count")).to_have_text("2")

    page.get_by_role("button", name="Save and go live").click()
    dialog = page.get_by_role("dialog", name="Go live with “Welcome VIPs”?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("reach-count")).to_have_text("2 people")
    expect(dialog).to_contain_text("It goes to 2 people now (in their in-app inbox), and to anyone")
    ui.shot("01-confirm-count")
    _screen(ui, "01b-confirm-count-screen")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name="Save and go live")).to_be_focused()
    assert workspace.ok("GET", "/api/messages")["data"] == []  # nothing went live, nothing saved

    page.get_by_role("button", name="Save and go live").click()
    dialog.get_by_role("button", name="Send to 2 people").click()
    expect(page.get_by_role("heading", name="Welcome VIPs", level=1)).to_be_visible()
    expect(page.locator(".head-actions .badge.state-live")).to_have_text("Live")
    message = workspace.ok("GET", "/api/messages")["data"][0]
    assert message["state"] == "live"

    # Delivered (in-app) by the messenger; pausing needs no confirmation, going live again does
    # and says who has had it already.
    deadline = time.monotonic() + 60
    while workspace.ok("GET", f"/api/messages/{message['id']}")["deliveries"]["delivered"] < 2:
        assert time.monotonic() < deadline, "the deliveries did not arrive"
        time.sleep(0.5)
    page.get_by_role("button", name="Pause “Welcome VIPs”").click()
    expect(page.locator(".head-actions .badge.state-paused")).to_have_text("Paused")
    page.get_by_role("button", name="Go live with “Welcome VIPs”").click()
    dialog = page.get_by_role("dialog", name="Go live with “Welcome VIPs”?")
    expect(dialog.get_by_test_id("reach-count")).to_have_text("0 people")
    expect(dialog).to_contain_text("2 people match the audience; 2 of them have had it already")
    ui.shot("02-confirm-again")
    dialog.get_by_role("button", name="Go live").click()
    expect(page.locator(".head-actions .badge.state-live")).to_have_text("Live")

    # From the list too: a paused message goes live only through the dialog.
    workspace.ok("PATCH", f"/api/messages/{message['id']}", json={"state": "paused"})
    ui.nav("Messages")
    page.get_by_role("button", name="Go live with “Welcome VIPs”").click()
    expect(page.get_by_role("dialog", name="Go live with “Welcome VIPs”?")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert workspace.ok("GET", f"/api/messages/{message['id']}")["state"] == "paused"


def test_a_fallback_in_the_preview_and_a_refused_placeholder_on_its_field(
    ui: Ui, workspace: Api
) -> None:
    _people(workspace)
    ui.sign_in(workspace.token)
    page = _new_message(ui, "Plan reminder")
    page.get_by_label("Subject").fill('Hi {{first_name | fallback: "there"}}')
    page.get_by_label("Body").fill("Your plan: {{custom.plan}}.")
    page.get_by_label("Find a person").fill("zoe")
    page.get_by_label("Find a person").press("Enter")  # searches; never submits the form
    preview = page.get_by_test_id("preview")
    expect(preview.get_by_test_id("preview-subject")).to_have_text("Hi Zoe")
    expect(preview.get_by_test_id("preview-body")).to_have_text("Your plan: pro.")
    ui.shot("01-preview-as-zoe")

    page.get_by_label("Preview as").select_option(label="Someone with no values")
    expect(preview.get_by_test_id("preview-subject")).to_have_text("Hi there")
    expect(page.locator(".preview-out")).to_contain_text(
        "Empty for this person: {{custom.plan}}. Add a fallback for people without a value,"
        ' e.g. {{custom.plan | fallback: "…"}}.'
    )
    ui.shot("02-preview-fallback")

    # A misspelt placeholder is marked on its field as it is typed (the preview asks the
    # server), and refused when saving; an unclosed one on the body.
    subject = page.get_by_label("Subject")
    subject.fill("Hi {{firstname}}")
    expect(subject).to_have_attribute("aria-invalid", "true")
    expect(
        page.locator(".field-error").filter(has_text="{{firstname}} is not a placeholder")
    ).to_contain_text("(did you mean {{first_name}}?)")
    page.get_by_label("Body").fill("Your plan: {{custom.plna}} {{name")
    page.get_by_label("Rule 1 value").fill("VIP")
    page.get_by_role("button", name="Save as draft").click()
    expect(subject).to_be_focused()
    body_error = page.locator(
        "#" + page.get_by_label("Body").get_attribute("aria-describedby").split()[-1]
    )
    expect(body_error).to_contain_text("“{{name” is not closed")
    expect(body_error).to_contain_text(
        "{{custom.plna}}: the workspace has no custom attribute “plna”"
    )
    expect(page.get_by_role("alert").filter(has_text="fix what is marked above")).to_be_visible()
    ui.shot("03-refused-placeholders")
    assert workspace.ok("GET", "/api/messages")["data"] == []

    subject.fill("Hi {{first_name}}")
    page.get_by_label("Body").fill('Plan {{custom.plan | fallback: "free"}}')
    expect(subject).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", name="Plan reminder", level=1)).to_be_visible()
    expect(page.locator(".head-actions .badge.state-draft")).to_have_text("Draft")


def test_email_without_a_mail_server_is_explained_and_failures_read_as_sentences(
    ui: Ui, workspace: Api, smtp: MailServer
) -> None:
    _people(workspace)
    ui.sign_in(workspace.token)
    page = _new_message(ui, "By email")
    channel = page.get_by_label("Channel", exact=True)
    note = page.locator(".field-error.warning").filter(has_text="Email cannot be chosen now")
    expect(note).to_contain_text(f"Email cannot be chosen now: {REFUSED}.")
    email = channel.locator("option[value=email]")
    expect(email).to_have_text("Email — the mail server cannot be reached")
    expect(email).to_be_disabled()
    ui.shot("01-email-unavailable")

    # A one-shot email message made through the API while no mail server answers: every
    # delivery fails, and the message says so instead of "Live".
    message = workspace.ok(
        "POST",
        "/api/messages",
        201,
        json={
            "name": "Launch mail",
            "type": "manual",
            "channel": "email",
            "subject": 'Hi {{first_name | fallback: "there"}}',
            "body": "We launched.",
            "audience": VIP,
            "state": "live",
        },
    )
    deadline = time.monotonic() + 60
    while workspace.ok("GET", f"/api/messages/{message['id']}")["status"] != "failed":
        assert time.monotonic() < deadline, "the deliveries did not fail"
        time.sleep(0.5)
    page.goto(f"{ui.base_url}/#/messages/{message['id']}")
    head = page.locator(".head-actions")
    expect(head.locator(".badge.state-failed")).to_have_text("Failed")
    expect(head).to_contain_text("2 of 2 deliveries failed")
    deliveries = page.get_by_role("table").filter(has_text=re.compile(r"\d+ deliver(y|ies)"))
    expect(deliveries.locator("tbody tr")).to_have_count(2)
    expect(deliveries).to_contain_text(f"{REFUSED}; gave up after 3 attempts.")
    expect(page.get_by_role("button", name=re.compile("^Pause"))).to_have_count(0)
    expect(page.locator(".test-panel")).to_contain_text(f"A test cannot be sent: {REFUSED}.")
    ui.shot("02-failed-with-retry")

    # The mail server comes up: Retry sends each failed delivery once.
    smtp.start()
    page.get_by_role("button", name="Retry the 2 failed deliveries of “Launch mail”").click()
    expect(
        page.get_by_role("status").filter(has_text="2 deliveries are being tried again")
    ).to_be_visible()
    deadline = time.monotonic() + 60
    while workspace.ok("GET", f"/api/messages/{message['id']}")["status"] != "sent":
        assert time.monotonic() < deadline, "the retried deliveries were not sent"
        time.sleep(0.5)
    page.reload()
    expect(head.locator(".badge.state-sent")).to_have_text("Sent")
    expect(head).to_contain_text("2 people")
    expect(deliveries).to_contain_text("delivered")
    ui.shot("03-retried")
    assert sorted(e.rcpt_tos[0] for e in smtp.received) == ["anon@example.com", "zoe@example.com"]

    # With the server up (and the check's answer of 5 s ago gone), a test email goes to the
    # address given.
    time.sleep(5.5)
    page.reload()
    page.get_by_label("Send a test to").fill("me@example.com")
    expect(page.get_by_role("button", name="Send test")).to_be_enabled()
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".test-result")).to_contain_text(
        f"Sent to me@example.com through the mail server at 127.0.0.1:{SMTP_PORT}."
    )
    assert [e for e in smtp.received if e.rcpt_tos == ["me@example.com"]]
    assert len(smtp.received) == 3  # each retried delivery once, and the test


def test_a_message_edited_duplicated_and_archived(ui: Ui, workspace: Api) -> None:
    _people(workspace)
    message = workspace.ok(
        "POST",
        "/api/messages",
        201,
        json={"name": "Welcome", "subject": "Hello {{name}}", "body": "Hi", "audience": VIP},
    )
    page = ui.page
    ui.sign_in(workspace.token)
    page.goto(f"{ui.base_url}/#/messages/{message['id']}")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit “Welcome”", level=1)).to_be_visible()
    expect(page.get_by_label("Rule 1 value")).to_have_value("VIP")  # the audience, to edit
    expect(page.get_by_label("Channel", exact=True)).to_be_disabled()
    page.get_by_label("Subject").fill('Hello {{first_name | fallback: "there"}}')
    ui.shot("01-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved: this is version 2.")).to_be_visible()
    versions = page.get_by_role("table").filter(has_text="versions, newest first")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions.locator("tbody tr").first).to_contain_text("2 (current)")
    expect(versions.locator("tbody tr").last).to_contain_text("Hello {{name}}")
    ui.shot("02-version-2")

    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("heading", name="Edit “Copy of Welcome”", level=1)).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value('Hello {{first_name | fallback: "there"}}')
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator(".head-actions .badge.state-draft")).to_have_text("Draft")

    page.goto(f"{ui.base_url}/#/messages/{message['id']}")
    page.get_by_role("button", name="Archive").click()
    expect(page.locator(".head-actions .badge.state-archived")).to_have_text("Archived")
    expect(page.get_by_role("button", name="Restore")).to_be_focused()
    ui.shot("03-archived")
    ui.nav("Messages")
    listed = page.get_by_role("table")
    expect(listed.locator("tbody tr")).to_have_count(1)
    expect(listed).to_contain_text("Copy of Welcome")
    page.get_by_role("link", name="Archived").click()
    expect(page.get_by_role("link", name="Archived")).to_have_attribute("aria-current", "page")
    expect(listed.locator("tbody tr")).to_have_count(1)
    expect(listed).to_contain_text("Welcome")
    ui.shot("04-archived-list")
    page.get_by_role("link", name="Welcome", exact=True).click()
    page.get_by_role("button", name="Restore").click()
    expect(page.locator(".head-actions .badge.state-draft")).to_have_text("Draft")  # never live
    assert workspace.ok("GET", f"/api/messages/{message['id']}")["state"] == "paused"


def test_safe_sending_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    _people(workspace)
    ui.sign_in(workspace.token)
    page = _new_message(ui, "Phone hello")
    page.get_by_label("Subject").fill('Hi {{first_name | fallback: "there"}}')
    page.get_by_label("Rule 1 value").fill("VIP")
    expect(page.get_by_test_id("preview-subject")).to_have_text(re.compile("^Hi (Zoe|there)$"))
    ui.no_horizontal_scroll()
    ui.shot("01-form")
    page.get_by_role("button", name="Save and go live").click()
    dialog = page.get_by_role("dialog", name="Go live with “Phone hello”?")
    expect(dialog.get_by_test_id("reach-count")).to_have_text("2 people")
    ui.no_horizontal_scroll()
    ui.shot("02-confirm")
    _screen(ui, "02b-confirm-screen")
    dialog.get_by_role("button", name="Send to 2 people").click()
    expect(page.get_by_role("heading", name="Phone hello", level=1)).to_be_visible()
    for name in ("Pause “Phone hello”", "Duplicate", "Archive"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= 44, (name, box)
    ui.no_horizontal_scroll()
    ui.shot("03-page")
    ui.nav("Messages")
    expect(page.locator(".badge.state-live")).to_have_text("Live")
    ui.no_horizontal_scroll()
    ui.shot("04-list")
