"""Signing in in a real browser (issue 20, item 5): the token is exchanged once for an HttpOnly
session cookie, so a sign-in lasts across tabs and reloads for the browser session; the header
names the workspace; the token is kept nowhere a script can read it; signing out in one tab
ends the session in the others. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import re

from tests.browser._helpers import expect
from tests.browser.conftest import ARTIFACTS, Ui
from tests.support.api import Api

SIGNED_IN = "Signed in to the workspace Browser test"  # the header, read aloud


def test_a_sign_in_lasts_across_tabs_and_reloads(ui: Ui, services, workspace: Api) -> None:  # type: ignore[no-untyped-def]
    page = ui.page
    ui.sign_in(workspace.token)
    expect(page.locator(".nav-workspace")).to_have_text(SIGNED_IN)
    ui.shot("01-signed-in")

    # No script can read the token or the session: the cookie is HttpOnly, storage is empty.
    assert page.evaluate("document.cookie") == ""
    stored = page.evaluate(
        "JSON.stringify([Object.values(sessionStorage), Object.values(localStorage)])"
    )
    assert workspace.token not in stored, stored
    [cookie] = [c for c in page.context.cookies() if c["name"] == "usher_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api"
    assert cookie["expires"] == -1  # a session cookie: it ends with the browser

    page.reload()
    page.get_by_role("heading", name="Import people", level=1).wait_for()

    # A second tab opens signed in, at the page its address names.
    other = page.context.new_page()
    other.goto(f"{ui.base_url}/#/people")
    expect(other.get_by_role("heading", name="People", level=1)).to_be_visible()
    expect(other.locator(".nav-workspace")).to_have_text(SIGNED_IN)
    # Writes need the session's CSRF value, which the page has: a message is saved.
    other.goto(f"{ui.base_url}/#/connect?source=intercom")
    expect(other.locator("#write-key")).to_have_text("YOUR_WORKSPACE_TOKEN")
    expect(other.get_by_test_id("snippet-curl")).to_contain_text("Bearer YOUR_WORKSPACE_TOKEN")
    other.get_by_label("Paste your access token to put it in the snippets").fill(workspace.token)
    other.get_by_role("button", name="Fill in").click()
    expect(other.get_by_role("button", name="Show the access token")).to_be_visible()
    other.get_by_role("button", name="Show the access token").click()
    expect(other.get_by_test_id("snippet-curl")).to_contain_text(f"Bearer {workspace.token}")
    other.screenshot(path=str(ARTIFACTS / f"{ui.name}-02-second-tab.png"), full_page=True)

    # Signing out in the first tab signs the second out at its next request.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text(
        "You are signed out, in every tab of this browser."
    )
    other.get_by_role("navigation", name="Main").get_by_role("link", name="Import history").click()
    expect(other.get_by_role("heading", name="Sign in to Usher")).to_be_visible()
    expect(other.locator(".alert.info")).to_have_text(
        "Your session has ended (or you signed out in another tab): sign in again."
    )
    expect(other).to_have_url(re.compile(r"#/signin\?next=%2Fimports$"))
    other.close()


def test_a_forged_request_without_the_csrf_value_is_refused(ui: Ui, workspace: Api) -> None:
    page = ui.page
    ui.sign_in(workspace.token)
    status = page.evaluate(
        """async () => (await fetch('/api/users', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({email: 'forged@example.com'})})).status"""
    )
    assert status == 403
    assert workspace.all_users(email="forged@example.com") == []


def test_the_header_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    ui.sign_in(workspace.token)
    expect(ui.page.locator(".nav-workspace")).to_have_text(SIGNED_IN)
    ui.no_horizontal_scroll()
    ui.page.screenshot(path=str(ARTIFACTS / f"{ui.name}-01-header.png"))
