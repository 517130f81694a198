"""Taking an import back and deciding what imports could not, in a real browser (SPEC §6.3,
§6.4): "Undo import" in the history asks first, saying what will be deleted and restored and
which messages stay sent, then shows the undo's progress, result and conflicts report; the
Conflicts screen puts each ambiguous row beside its candidates, to choose one, create a person
or dismiss it; and a lead's page merges it into another person.

Each test seeds a workspace of its own over the API, drives the UI the way a person does (mouse
and keyboard) and checks what the page shows and what the API then holds. Screenshots land in
tests/artifacts/.
"""

from __future__ import annotations

import csv
import re
from typing import Any

from tests.browser._helpers import expect
from tests.browser.conftest import ARTIFACTS, Ui
from tests.support.api import Api

MAPPING = {"email": "email", "user_id": "user_id", "name": "name"}
PLAN = {"plan": "plan"}


def _screen(ui: Ui, label: str) -> None:
    """What a phone shows at once (a full-page shot of a long page is too small to judge)."""
    ui.page.screenshot(path=str(ARTIFACTS / f"{ui.name}-{label}.png"))


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _import(workspace: Api, content: bytes, name: str, **body: Any) -> Any:
    """Upload ``content`` as file ``name``, start it with ``body`` and wait: the finished import."""
    uploaded = workspace.upload(content, name=name)
    workspace.start(uploaded["id"], **body)
    return workspace.wait(uploaded["id"])


SECOND = _csv(
    "email,user_id,name,plan",
    "ann@example.com,u1,Ann Two,gold",  # 1 updated
    "bob@example.com,u2,Bob Two,gold",  # 2 updated, then changed through the API
    "new@example.com,n1,New,gold",  # 3 created
    "kept@example.com,n2,Kept,gold",  # 4 created, then changed through the API
    "lee@example.com,u9,Lee,",  # 5 the lead becomes a user
    "ann@example.com,u1,Ann Three,",  # 6 Ann again: plan cleared
)


def _undoable(workspace: Api) -> tuple[Any, Any]:
    """Three users and a lead, a live message, then second.csv (which reaches 5 people), and
    two of its values changed afterwards: the import and the message."""
    _import(
        workspace,
        _csv(
            "email,user_id,name,plan",
            "ann@example.com,u1,Ann,basic",
            "bob@example.com,u2,Bob,basic",
            "cy@example.com,u3,Cy,basic",
        ),
        "first.csv",
        mapping=MAPPING,
        custom_attributes=PLAN,
        tag="First",
    )
    _import(
        workspace,
        _csv("email,name", "lee@example.com,Lee"),
        "leads.csv",
        kind="leads",
        mapping={"email": "email", "name": "name"},
    )
    message = workspace.new_message(
        name="Second wave",
        type="auto",
        channel="in_app",
        subject="Hi",
        body="Welcome",
        audience={"field": "tag", "op": "eq", "value": "Second"},
        state="live",
    )
    second = _import(
        workspace, SECOND, "second.csv", mapping=MAPPING, custom_attributes=PLAN, tag="Second"
    )
    assert (second["counts"]["created"], second["counts"]["updated"]) == (2, 4), second

    def reached() -> int:
        messages = workspace.status(second["id"])["summary"]["messages"]
        return sum(m["deliveries"] for m in messages)

    assert Api.wait_for(reached, 5) == 5
    workspace.ok("POST", "/api/users", 200, json={"user_id": "u2", "name": "Bob by hand"})
    workspace.ok(
        "POST", "/api/users", 200, json={"user_id": "n2", "custom_attributes": {"plan": "x"}}
    )
    return second, message


def test_undo_from_the_history(ui: Ui, workspace: Api) -> None:
    second, message = _undoable(workspace)
    page = ui.page
    ui.sign_in(workspace.token)
    ui.nav("Import history")
    history = page.get_by_role("table").filter(has_text="newest first")
    original = history.locator("tbody tr").filter(has_text="CSV: second.csv")
    undo = original.get_by_role("button", name=re.compile("^Undo import of"))

    # The confirmation says what the undo will do, before anything happens.
    undo.click()
    dialog = page.get_by_role("dialog", name="Undo the import of second.csv?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Undo the import of second.csv?")).to_be_focused()
    expect(dialog.get_by_test_id("undo-will-delete")).to_have_text(
        "Up to 2 people it created are deleted, with their events and tags."
    )
    expect(dialog.get_by_test_id("undo-will-restore")).to_have_text(
        "Up to 4 people it changed get back the values from before it: fields, custom"
        " attributes, a lead it turned into a user, and the tags it added."
    )
    expect(dialog.get_by_test_id("undo-sent")).to_have_text(
        "5 messages this import sent cannot be recalled."
    )
    expect(dialog.locator("ul.undo-messages li")).to_have_text(
        ["“Second wave” (in-app): 5 people, delivered at once"]
    )
    ui.shot("01-confirm")

    # Escape cancels: nothing was undone, and the focus is back on the button.
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(undo).to_be_focused()
    assert workspace.status(second["id"])["undone_by"] is None

    # By keyboard: Enter opens it again, Tab reaches "Keep the import", then "Undo import".
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Keep the import")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Undo import")).to_be_focused()
    page.keyboard.press("Enter")

    # The undo's own page: its progress, then what it did and what it kept.
    expect(page.get_by_role("heading", name="Undo of second.csv", level=1)).to_be_visible()
    expect(page.get_by_test_id("progress-percent")).to_have_text("100 %", timeout=90_000)
    expect(page.locator(".page-head .badge.status-completed")).to_have_text("Completed")
    for key, value in {"rows": "5", "deleted": "1", "restored": "2", "conflicts": "2"}.items():
        expect(page.get_by_test_id(f"undo-{key}")).to_have_text(value)
    expect(page.locator(".done-line")).to_have_text(
        "Undo completed: 1 deleted, 2 restored, 2 kept as conflicts, out of 5 people."
    )
    expect(page.get_by_test_id(f"undo-reach-{message['id']}")).to_have_text(
        "Reached 5 people: not recalled."
    )
    report = page.get_by_role("table").filter(has_text="Conflicts report")
    expect(report.locator("tbody tr")).to_have_count(2)
    bob = report.locator("tbody tr").filter(has_text="Bob by hand")
    expect(bob.locator("td[data-label=Row]")).to_have_text("Row 2")
    expect(bob.locator("td").nth(1)).to_contain_text(
        "Name: kept 'Bob by hand', changed since the import (the import had 'Bob Two')"
    )
    kept = report.locator("tbody tr").filter(has_text="Custom attribute “plan”")
    expect(kept.locator("td[data-label=Row]")).to_have_text("Row 4")
    expect(kept).to_contain_text("Custom attribute “plan”: kept 'x'")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the conflicts report (CSV)").click()
    with open(info.value.path(), encoding="utf-8", newline="") as f:
        downloaded = list(csv.reader(f))
    assert downloaded[0][:2] == ["row", "errors"], downloaded
    assert [r[0] for r in downloaded[1:]] == ["2", "4"], downloaded
    assert "Bob by hand" in downloaded[1][1], downloaded
    ui.shot("02-undo-result")

    after = {u["email"]: u for u in workspace.all_users()}
    assert "new@example.com" not in after
    assert after["ann@example.com"]["name"] == "Ann"
    assert after["bob@example.com"]["name"] == "Bob by hand"
    assert after["kept@example.com"]["custom_attributes"] == {"plan": "x"}
    assert after["lee@example.com"]["role"] == "lead"

    # The history: the undo is an entry of its own, the import says it was undone.
    ui.nav("Import history")
    first = history.locator("tbody tr").first
    expect(first.locator("td[data-label=Source]")).to_contain_text("Undo of second.csv")
    expect(first.locator("td[data-label=Source]")).to_contain_text(
        "1 deleted · 2 restored · 2 conflicts"
    )
    expect(first.get_by_role("button", name=re.compile("^Undo"))).to_have_count(0)
    expect(original.get_by_role("button", name=re.compile("^Undo"))).to_have_count(0)
    ui.shot("03-history")
    original.get_by_role("link", name="Undone: see the undo of the import of second.csv").click()
    expect(page.get_by_role("heading", name="Undo of second.csv", level=1)).to_be_visible()
    page.get_by_role("link", name="Back to the import of second.csv").click()
    expect(page.get_by_role("heading", name="Import of second.csv", level=1)).to_be_visible()
    expect(page.get_by_test_id("undone")).to_contain_text("This import was undone")
    expect(page.get_by_role("button", name="Undo import")).to_have_count(0)
    ui.shot("04-undone-import")


def test_a_refused_undo_says_why(ui: Ui, workspace: Api) -> None:
    done = _import(
        workspace,
        _csv("email,name", "a@example.com,A"),
        "one.csv",
        mapping={"email": "email", "name": "name"},
    )
    page = ui.page
    ui.sign_in(workspace.token)
    page.goto(f"{ui.base_url}/#/imports/{done['id']}")
    expect(page.get_by_role("heading", name="Import of one.csv", level=1)).to_be_visible()
    page.get_by_role("button", name="Undo import").click()
    dialog = page.get_by_role("dialog", name="Undo the import of one.csv?")
    expect(dialog.get_by_test_id("undo-will-delete")).to_have_text(
        "Up to 1 person it created is deleted, with their events and tags."
    )
    expect(dialog.get_by_test_id("undo-will-restore")).to_have_text(
        "It changed nobody, so nothing is restored."
    )
    expect(dialog.get_by_test_id("undo-sent")).to_have_text("This import sent no messages.")
    # Someone else undoes it first: the dialog says why this undo is refused, and stays.
    workspace.ok("POST", f"/api/imports/{done['id']}/undo", 202)
    dialog.get_by_role("button", name="Undo import").click()
    expect(dialog.get_by_role("alert")).to_contain_text("The undo did not start")
    expect(dialog.get_by_role("alert")).to_contain_text("undone already")
    expect(dialog.get_by_role("button", name="Keep the import")).to_be_focused()
    ui.shot("01-refused")
    dialog.get_by_role("button", name="Keep the import").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def _twins(workspace: Api) -> dict[str, Any]:
    """Two users sharing an email, and later.csv: three rows for that email (three conflicts)."""
    workspace.import_csv(
        _csv("email,user_id,name", "twin@example.com,t1,One", "twin@example.com,t2,Two"),
        mapping=MAPPING,
    )
    users = {u["user_id"]: u for u in workspace.all_users()}
    later = _import(
        workspace,
        _csv(
            "email,name",
            "twin@example.com,Resolved",
            "TWIN@example.com,Created",
            "twin@example.com,Dropped",
        ),
        "later.csv",
        mapping={"email": "email", "name": "name"},
        tag="Later",
    )
    assert later["counts"]["failed"] == 3, later
    return users


def test_conflicts_choose_create_and_dismiss(ui: Ui, workspace: Api) -> None:
    users = _twins(workspace)
    one, two = users["t1"], users["t2"]
    page = ui.page
    ui.sign_in(workspace.token)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Conflicts (3 open)")).to_be_visible()
    nav.get_by_role("link", name="Conflicts (3 open)").click()

    expect(page.get_by_role("heading", name="Conflicts", level=1)).to_be_visible()
    expect(page.get_by_test_id("conflict-count")).to_have_text("3 open conflicts, oldest first")
    cards = page.locator("section.conflict")
    expect(cards).to_have_count(3)
    first = cards.first
    expect(first.get_by_role("heading", name="Row 1 of later.csv")).to_be_visible()
    expect(first).to_contain_text("twin@example.com belongs to 2 people")
    expect(first).to_contain_text("the import's tag “Later”")
    record = first.get_by_test_id("conflict-record")
    expect(record.locator("dt")).to_have_text(["Email", "Name"])
    expect(record.locator("dd")).to_have_text(["twin@example.com", "Resolved"])
    # Each candidate beside the row: the differing value marked, who they are.
    for user in (one, two):
        candidate = first.get_by_test_id(f"candidate-{user['id']}")
        expect(candidate.locator(".differs dt")).to_have_text(["Name"])
        expect(candidate.locator(".differs dd")).to_contain_text(user["name"])
        expect(candidate).to_contain_text(user["user_id"])
    ui.shot("01-conflicts")

    # Choose: the row is applied to Two, the conflict leaves the list with a status message.
    first.get_by_role("button", name="Apply the row to Two").click()
    status = page.locator(".status-slot")
    expect(status).to_have_text("Row 1 of later.csv was applied to Two. Open Two")
    expect(cards).to_have_count(2)
    expect(page.get_by_role("heading", name="Row 2 of later.csv")).to_be_focused()
    expect(page.get_by_test_id("conflict-count")).to_have_text("2 open conflicts, oldest first")
    expect(nav.get_by_role("link", name="Conflicts (2 open)")).to_be_visible()
    changed = workspace.ok("GET", f"/api/users/{two['id']}")
    assert changed["name"] == "Resolved" and "Later" in changed["tags"], changed
    assert workspace.ok("GET", f"/api/users/{one['id']}")["name"] == "One"
    ui.shot("02-chosen")

    # Create: a new person from the row.
    cards.first.get_by_role("button", name="Create a new person from the row").click()
    expect(status).to_have_text("Row 2 of later.csv is now a new person. Open the new person")
    expect(cards).to_have_count(1)
    created = [u for u in workspace.all_users() if u["name"] == "Created"]
    assert len(created) == 1, created
    assert (created[0]["email"], created[0]["user_id"]) == ("TWIN@example.com", None)
    new_person = status.get_by_role("link", name="Open the new person")
    expect(new_person).to_have_attribute("href", f"#/people/{created[0]['id']}")

    # Dismiss, by keyboard: nothing changes, and the list is empty.
    before = {u["id"]: u for u in workspace.all_users()}
    cards.first.get_by_role("button", name="Dismiss the row").focus()
    page.keyboard.press("Enter")
    expect(status).to_have_text("Row 3 of later.csv was dismissed: nothing was changed.")
    expect(cards).to_have_count(0)
    expect(page.get_by_test_id("conflict-count")).to_have_text(re.compile("^No open conflicts"))
    expect(page.get_by_role("heading", name="Conflicts", level=1)).to_be_focused()
    expect(nav.get_by_role("link", name="Conflicts", exact=True)).to_be_visible()
    assert {u["id"]: u for u in workspace.all_users()} == before
    assert workspace.ok("GET", "/api/conflicts")["data"] == []
    ui.shot("03-all-resolved")


def test_merge_a_lead_into_a_user(ui: Ui, workspace: Api) -> None:
    workspace.import_csv(
        _csv("email,user_id,name,plan", "ann@example.com,u1,Ann,"),
        mapping=MAPPING,
        custom_attributes=PLAN,
        tag="Users",
    )
    workspace.import_csv(
        _csv("email,name,phone,plan", "ann.other@example.com,Annie,+442079460958,pro"),
        kind="leads",
        mapping={"email": "email", "name": "name", "phone": "phone"},
        custom_attributes=PLAN,
        tag="Leads",
    )
    people = {u["email"]: u for u in workspace.all_users()}
    user, lead = people["ann@example.com"], people["ann.other@example.com"]
    page = ui.page
    ui.sign_in(workspace.token)
    page.goto(f"{ui.base_url}/#/people/{lead['id']}")
    expect(page.get_by_role("heading", name="Annie", level=1)).to_be_visible()

    opener = page.get_by_role("button", name="Merge into…")
    expect(opener).to_have_attribute("aria-expanded", "false")
    opener.click()
    expect(opener).to_have_attribute("aria-expanded", "true")
    search = page.get_by_label("Find the person to merge into")
    expect(search).to_be_focused()
    search.fill("ann")
    search.press("Enter")
    results = page.locator("ul.merge-list li")
    expect(results).to_have_count(1)  # Annie matches "ann" too, but is left out
    expect(page.locator(".merge-results .result-count")).to_have_text("1 person matches “ann”")
    expect(results.first).to_contain_text("ann@example.com · User ID u1")
    ui.shot("01-search")

    results.first.get_by_role("button", name="Merge into Ann (ann@example.com)").click()
    dialog = page.get_by_role("dialog", name="Merge Annie into Ann?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_be_focused()
    expect(dialog.get_by_test_id("merge-fills")).to_have_text(
        "Blank on Ann, filled in from Annie: Phone (+442079460958), Custom attribute “plan” (pro)."
    )
    expect(dialog).to_contain_text(
        "Annie's tags (Leads), events and messages move to Ann; a message both got counts once."
    )
    expect(dialog).to_contain_text("Annie is then deleted. A merge cannot be undone.")
    ui.shot("02-confirm")
    dialog.get_by_role("button", name="Merge", exact=True).click()

    expect(page.get_by_role("heading", name="Ann", level=1, exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(f"#/people/{user['id']}$"))
    expect(page.locator(".alert.info")).to_have_text("Annie was merged into Ann.")
    expect(page.locator("dl.fields").first).to_contain_text("+442079460958")
    expect(page.get_by_role("button", name="Merge into…")).to_have_count(0)  # a user with a user ID
    ui.shot("03-merged")
    merged = workspace.ok("GET", f"/api/users/{user['id']}")
    assert merged["phone"] == "+442079460958" and merged["tags"] == ["Users", "Leads"], merged
    assert merged["custom_attributes"] == {"plan": "pro"}, merged
    assert workspace.request("GET", f"/api/users/{lead['id']}").status_code == 404


def test_undo_conflicts_and_merge_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    _twins(workspace)
    lead = workspace.ok(
        "POST", "/api/users", 200, json={"email": "lee@example.com", "role": "lead", "name": "Lee"}
    )
    page = ui.page
    ui.sign_in(workspace.token)

    ui.menu().get_by_role("link", name=re.compile("^Conflicts")).click()
    expect(page.locator("section.conflict")).to_have_count(3)
    ui.no_horizontal_scroll()
    # Stacked cards: each candidate says the row's value under its own.
    row_value = page.locator("section.conflict").first.locator(".differs .row-value").first
    expect(row_value).to_be_visible()
    expect(row_value).to_have_text("(the row has Resolved)")
    ui.shot("01-conflicts")
    row_value.scroll_into_view_if_needed()
    _screen(ui, "01b-conflicts-screen")

    ui.nav("Import history")
    later = page.locator("tbody tr").filter(has_text="later.csv")
    expect(later.get_by_role("button", name=re.compile("^Undo"))).to_have_count(0)  # changed nobody
    first = page.locator("tbody tr").filter(has_text="people.csv")
    first.get_by_role("button", name=re.compile("^Undo import of")).click()
    dialog = page.get_by_role("dialog", name="Undo the import of people.csv?")
    expect(dialog).to_be_visible()
    ui.no_horizontal_scroll()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    ui.shot("02-confirm")
    _screen(ui, "02b-confirm-screen")
    dialog.get_by_role("button", name="Keep the import").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.goto(f"{ui.base_url}/#/people/{lead['contact']['id']}")
    page.get_by_role("button", name="Merge into…").click()
    page.get_by_label("Find the person to merge into").fill("twin")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("ul.merge-list li")).to_have_count(2)
    ui.no_horizontal_scroll()
    ui.shot("03-merge-search")
    page.locator("#merge").scroll_into_view_if_needed()
    _screen(ui, "03b-merge-screen")
