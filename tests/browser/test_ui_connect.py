"""The Connect page in a real browser (SPEC §7, issue 18): the base URL and the key a team
gives the Segment library or the Intercom SDK it already uses, snippets that work when pasted,
the last messages received with their outcomes and problems, and the history's day entries.

Messages are sent by Segment's and Intercom's official Python libraries, unmodified, to the
running stack; the copied Python and curl snippets are then run as they are, and their messages
show up after Refresh. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from intercom import Intercom
from intercom.core.api_error import ApiError
from segment.analytics import Client

from tests.browser._helpers import expect
from tests.browser.conftest import ARTIFACTS, Ui
from tests.support.api import Api

NO_EMAIL = "An identify without userId needs traits.email: the person is then a lead."


def _segment(base_url: str, token: str) -> tuple[Client, list[Any]]:
    """Segment's library pointed at Usher, sending each message at once (sync_mode)."""
    errors: list[Any] = []
    client = Client(
        token,
        host=f"{base_url}/segment",
        sync_mode=True,
        max_retries=1,
        on_error=lambda exc, batch: errors.append((exc, batch)),
    )
    return client, errors


def _screen(ui: Ui, label: str) -> None:
    """What the screen shows at once (a phone's full page is too long to judge)."""
    ui.page.screenshot(path=str(ARTIFACTS / f"{ui.name}-{label}.png"))


def _today() -> str:
    """Today's UTC date as the page writes it in en-GB: "1 Dec 2026"."""
    day = datetime.now(UTC)
    return f"{day.day} {day:%b} {day.year}"


def _clipboard(ui: Ui) -> str:
    return str(ui.page.evaluate("navigator.clipboard.readText()"))


def _log_rows(ui: Ui) -> Any:
    return ui.page.locator("section.log tbody tr")


def _cell(row: Any, label: str) -> Any:
    return row.locator(f"td[data-label={label}]")


def test_connect_segment(ui: Ui, workspace: Api) -> None:
    page = ui.page
    base = ui.base_url
    token = workspace.token
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    ui.sign_in(token)
    ui.nav("Connect")

    # Before anything was sent: the settings, masked, and an empty log saying what to do.
    expect(page.locator("#base-url")).to_have_text(f"{base}/segment")
    write_key = page.locator("#write-key")
    expect(write_key).to_have_text(re.compile(r"^•{12}.{4}$"))
    snippets = {
        name: page.get_by_test_id(f"snippet-{name}") for name in ("Python", "Node.js", "curl")
    }
    expect(snippets["Python"]).to_contain_text(f'host="{base}/segment"')
    expect(snippets["Node.js"]).to_contain_text(f'host: "{base}",\n  path: "/segment/v1/batch",')
    expect(snippets["curl"]).to_contain_text(f"{base}/segment/v1/identify")
    for snippet in snippets.values():
        expect(snippet).not_to_contain_text(token)
        expect(snippet).to_contain_text("•" * 12)
    expect(page.locator("section.log .empty-state")).to_have_text(
        "Nothing received yet: send an identify with the snippet above."
    )
    ui.shot("01-empty")

    # Segment's own library sends an identify, an anonymous identify without email, a track.
    client, errors = _segment(base, token)
    client.identify("u-1", {"email": "ada@example.com", "name": "Ada"})
    client.identify(anonymous_id="anon-1", traits={"plan": "free"})
    client.track("u-1", "Order Completed", {"order_id": "o-1", "revenue": 12.5})
    assert errors == []
    [ada] = workspace.all_users(user_id="u-1")

    page.get_by_role("button", name="Refresh").click()
    rows = _log_rows(ui)
    expect(rows).to_have_count(3)
    expect(page.locator("section.log caption")).to_have_text("3 messages, newest first")
    expect(page.locator("section.log .log-status")).to_have_text(
        re.compile(r"^3 messages, newest first\. Updated at \d{2}:\d{2}:\d{2}\.$")
    )
    expect(rows.locator("td[data-label=Type]")).to_have_text(["Track", "Identify", "Identify"])
    expect(rows.locator("td[data-label=Outcome]")).to_have_text(
        ["Event stored", "Failed", "Created"]
    )
    expect(rows.nth(0).locator(".badge")).to_have_class(re.compile(r"\boutcome-ok\b"))
    expect(rows.nth(1).locator(".badge")).to_have_class(re.compile(r"\boutcome-failed\b"))
    expect(rows.nth(2).locator(".badge")).to_have_class(re.compile(r"\boutcome-ok\b"))
    red = rows.nth(1).locator(".badge").evaluate("el => getComputedStyle(el).color")
    assert red == "rgb(179, 38, 30)", red  # --bad
    expect(_cell(rows.nth(1), "Problems")).to_have_text(NO_EMAIL)
    expect(_cell(rows.nth(0), "Problems")).to_have_text("—")
    expect(_cell(rows.nth(0), "Received")).to_have_text(
        re.compile(r"^\d{1,2} \w{3} \d{4}, \d{2}:\d{2}:\d{2}$")
    )
    expect(_cell(rows.nth(2), "Person").get_by_role("link")).to_have_attribute(
        "href", f"#/people/{ada['id']}"
    )
    ui.shot("02-log")

    # By keyboard: Show reveals the key here and in every snippet, Tab reaches its Copy.
    show = page.get_by_role("button", name="Show the write key")
    show.focus()
    page.keyboard.press("Enter")
    expect(write_key).to_have_text(token)
    hide = page.get_by_role("button", name="Hide the write key")
    expect(hide).to_be_focused()
    python = f'analytics = Client("{token}", host="{base}/segment")'
    node = (
        f'new Analytics({{\n  writeKey: "{token}",\n  host: "{base}",\n'
        '  path: "/segment/v1/batch",\n});'
    )
    curl = f"curl -u {token}: -H 'Content-Type: application/json' \\\n  {base}/segment/v1/identify"
    expect(snippets["Python"]).to_contain_text(python)
    expect(snippets["Node.js"]).to_contain_text(node)
    expect(snippets["curl"]).to_contain_text(curl)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Copy the write key")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("dd .copy-status").last).to_have_text("Copied")
    assert _clipboard(ui) == token
    ui.shot("03-shown")

    # The copied snippets are what the page shows, and they work as they are.
    page.get_by_role("button", name="Copy the base URL").click()
    assert _clipboard(ui) == f"{base}/segment"
    page.get_by_role("button", name="Copy the Node.js snippet").click()
    assert node in _clipboard(ui)
    page.get_by_role("button", name="Copy the Python snippet").click()
    copied = _clipboard(ui)
    assert copied.startswith("from segment.analytics import Client\n"), copied
    assert python in copied
    assert copied.strip() == snippets["Python"].inner_text().strip()
    ran = subprocess.run(
        [sys.executable, "-c", copied], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    page.get_by_role("button", name="Copy the curl snippet").click()
    sent = subprocess.run(
        ["bash", "-c", _clipboard(ui)], capture_output=True, text=True, timeout=30, check=False
    )
    assert sent.returncode == 0 and '"success":true' in sent.stdout.replace(" ", ""), sent
    [ada] = workspace.all_users(user_id="u-1")
    assert (ada["name"], ada["custom_attributes"]) == ("Ada Lovelace", {"plan": "pro"}), ada

    # Refresh keeps the focus on its button and lists the new messages on top.
    refresh = page.get_by_role("button", name="Refresh")
    refresh.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(6)
    expect(refresh).to_be_focused()
    assert sorted(rows.locator("td[data-label=Outcome]").all_inner_texts()[:3]) == [
        "Event stored",
        "Updated",
        "Updated",
    ]

    # Only problems: the failure alone, by keyboard; the address keeps the filter.
    only = page.get_by_label("Only problems")
    only.focus()
    page.keyboard.press("Space")
    expect(only).to_be_checked()
    expect(rows).to_have_count(1)
    expect(_cell(rows.first, "Outcome")).to_have_text("Failed")
    expect(_cell(rows.first, "Problems")).to_have_text(NO_EMAIL)
    expect(page.locator("section.log caption")).to_have_text(
        "1 message with problems, newest first"
    )
    expect(page).to_have_url(re.compile(r"#/connect\?source=segment&log=problems$"))
    ui.shot("04-only-problems")
    only.uncheck()
    expect(rows).to_have_count(6)

    # The history: one Segment entry for today, counted, with links to the log and no undo.
    ui.nav("Import history")
    entry = page.locator("tbody tr").filter(has_text="Segment (API)")
    expect(entry).to_have_count(1)
    expect(_cell(entry, "Source").locator("span")).to_have_text(
        ["Segment (API)", f"Messages of {_today()} (UTC)"]
    )
    expect(_cell(entry, "Kind")).to_have_text("Users and leads")
    for label, value in {"Rows": "4", "Created": "1", "Updated": "2", "Failed": "1"}.items():
        expect(_cell(entry, label)).to_have_text(value)
    expect(entry.get_by_role("button")).to_have_count(0)  # no undo, no error report
    expect(entry.get_by_role("link", name=re.compile("View changes"))).to_have_count(0)
    ui.shot("05-history")
    entry.get_by_role("link", name="See the problems of the messages from Segment (API)").click()
    expect(page.get_by_role("heading", name="Last messages received")).to_be_focused()
    expect(page.get_by_label("Only problems")).to_be_checked()
    expect(rows).to_have_count(1)

    # The entry's own page says what it is, with no undo.
    ui.nav("Import history")
    entry.locator("td[data-label=Date] a").click()
    heading = page.get_by_role("heading", name=f"Segment (API), {_today()}", level=1)
    expect(heading).to_be_visible()
    expect(page.get_by_test_id("count-updated")).to_have_text("2")
    expect(page.locator(".alert.info")).to_contain_text("cannot be undone")
    expect(page.get_by_role("button", name="Undo import")).to_have_count(0)
    ui.shot("06-entry")
    page.get_by_role("link", name="See the messages received from Segment (API)").click()
    expect(page.get_by_role("heading", name="Last messages received")).to_be_focused()
    expect(rows).to_have_count(6)


def test_connect_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    page = ui.page
    token = workspace.token
    client, errors = _segment(ui.base_url, token)
    client.identify("u-2", {"email": "bo@example.com", "phone": "12", "seats": 3})
    client.alias("anon-9", "u-2")
    client.track("nobody", "Clicked")
    assert errors == []
    ui.sign_in(token)
    ui.nav("Connect")
    ui.no_horizontal_scroll()
    _screen(ui, "01-top")

    page.get_by_role("button", name="Show the write key").click()
    expect(page.locator("#write-key")).to_have_text(token)
    ui.no_horizontal_scroll()  # the token and the snippets wrap
    page.get_by_test_id("snippet-curl").scroll_into_view_if_needed()
    _screen(ui, "02-snippets")

    rows = _log_rows(ui)
    expect(rows).to_have_count(3)
    expect(rows.locator("td[data-label=Outcome]")).to_have_text(["Failed", "Ignored", "Created"])
    expect(rows.nth(1).locator(".badge")).to_have_class(re.compile(r"\boutcome-ignored\b"))
    expect(_cell(rows.nth(0), "Problems")).to_have_text("No person with user_id 'nobody'.")
    expect(_cell(rows.nth(1), "Problems")).to_have_text(
        "Usher does not use alias messages: only identify and track."
    )
    expect(_cell(rows.nth(2), "Problems").locator("li")).to_have_text(
        [
            re.compile(r"^Left out: phone: '12' has no country calling code"),
        ]
    )
    # Cards: each cell with its column's name, side by side.
    label = _cell(rows.first, "Outcome").evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Outcome"', label
    ui.no_horizontal_scroll()
    ui.shot("03-page")
    page.evaluate("document.getElementById('log').scrollIntoView()")
    _screen(ui, "04-log")

    page.get_by_label("Only problems").check()
    expect(rows).to_have_count(2)  # the failure, and the identify with a value left out
    expect(rows.locator("td[data-label=Outcome]")).to_have_text(["Failed", "Created"])
    ui.no_horizontal_scroll()

    ui.nav("Import history")
    entry = page.locator("tbody tr").filter(has_text="Segment (API)")
    expect(entry).to_have_count(1)
    expect(entry.get_by_role("button")).to_have_count(0)
    expect(entry.get_by_role("link", name=re.compile("^See the messages received"))).to_have_count(
        1
    )
    ui.no_horizontal_scroll()
    entry.scroll_into_view_if_needed()
    _screen(ui, "05-history")


def test_connect_intercom(ui: Ui, workspace: Api) -> None:
    page = ui.page
    base = ui.base_url
    token = workspace.token
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    ui.sign_in(token)
    ui.nav("Connect")
    page.get_by_role("navigation", name="Sources").get_by_role("link", name="Intercom").click()
    expect(page).to_have_url(re.compile(r"#/connect\?source=intercom$"))
    tabs = page.get_by_role("navigation", name="Sources")
    expect(tabs.get_by_role("link", name="Intercom")).to_have_attribute("aria-current", "page")
    expect(tabs.get_by_role("link", name="Segment")).not_to_have_attribute("aria-current", "page")
    expect(page.locator("#base-url")).to_have_text(f"{base}/intercom")
    python = page.get_by_test_id("snippet-Python")
    expect(python).to_contain_text(f'client = Intercom(base_url="{base}/intercom", token="')
    expect(python).not_to_contain_text(token)
    expect(page.locator("section.log .empty-state")).to_have_text(
        "Nothing received yet: create a contact with the snippet above."
    )
    ui.shot("01-empty")

    # The copied script runs as it is: the first run creates, the second finds the contact
    # (409) and updates it; the event is stored once.
    page.get_by_role("button", name="Show the access token").click()
    expect(page.locator("#write-key")).to_have_text(token)
    page.get_by_role("button", name="Copy the Python snippet").click()
    copied = _clipboard(ui)
    assert copied.strip() == python.inner_text().strip()
    for _ in range(2):
        ran = subprocess.run(
            [sys.executable, "-c", copied], capture_output=True, text=True, timeout=60, check=False
        )
        assert ran.returncode == 0, ran.stderr
    [ada] = workspace.all_users(user_id="u-1")
    assert (ada["name"], ada["custom_attributes"]) == ("Ada Lovelace", {"plan": "pro"}), ada
    client = Intercom(base_url=f"{base}/intercom", token=token)
    try:
        client.events.create(request={"event_name": "x", "created_at": 1717000000, "user_id": "no"})
    except ApiError as exc:
        assert exc.status_code == 404
    else:
        raise AssertionError("an event for nobody was accepted")

    page.get_by_role("button", name="Refresh").click()
    rows = _log_rows(ui)
    expect(rows).to_have_count(6)
    expect(rows.locator("td[data-label=Type]")).to_have_text(
        ["Event", "Event", "Update", "Create", "Event", "Create"]
    )
    expect(rows.locator("td[data-label=Outcome]")).to_have_text(
        ["Failed", "Event stored", "Updated", "Failed", "Event stored", "Created"]
    )
    expect(_cell(rows.nth(0), "Problems")).to_have_text("User Not Found.")
    expect(_cell(rows.nth(3), "Problems")).to_have_text(
        f"A contact matching those details already exists with id={ada['id']}."
    )
    expect(_cell(rows.nth(2), "Person").get_by_role("link")).to_have_attribute(
        "href", f"#/people/{ada['id']}"
    )
    ui.shot("02-log")

    page.get_by_label("Only problems").check()
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"#/connect\?source=intercom&log=problems$"))

    # The history: one Intercom entry for today, linking to this log.
    ui.nav("Import history")
    entry = page.locator("tbody tr").filter(has_text="Intercom (API)")
    expect(entry).to_have_count(1)
    for label, value in {"Rows": "3", "Created": "1", "Updated": "1", "Failed": "1"}.items():
        expect(_cell(entry, label)).to_have_text(value)
    ui.shot("03-history")
    entry.get_by_role("link", name="See the messages received from Intercom (API)").click()
    expect(tabs.get_by_role("link", name="Intercom")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Last messages received")).to_be_focused()
    expect(rows).to_have_count(6)


def test_connect_intercom_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("Connect")
    page.get_by_role("navigation", name="Sources").get_by_role("link", name="Intercom").click()
    expect(page.locator("#base-url")).to_have_text(f"{ui.base_url}/intercom")
    page.get_by_role("button", name="Show the access token").click()
    ui.no_horizontal_scroll()  # the token and the snippets wrap
    _screen(ui, "01-top")
    page.get_by_test_id("snippet-Python").scroll_into_view_if_needed()
    ui.no_horizontal_scroll()
    _screen(ui, "02-snippet")
