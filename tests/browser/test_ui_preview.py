"""The import's preview in a real browser (SPEC §6.1, §6.2): "Preview changes" runs a dry run and
shows what the import would do — results, problems by cause, fields, the live messages it would
send with a switch each, the failed rows and the rows' changes — and "Import" commits it. The
history shows a preview as such, and a finished import links to its changes.

Each test seeds a workspace of its own over the API, drives the wizard the way a person does and
checks what the page shows and what the API then holds. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser._helpers import _start_csv_import, _wait_completed, expect
from tests.browser.conftest import Ui
from tests.support.api import Api

MAPPING = {"email": "email", "user_id": "user_id", "name": "name", "phone": "phone"}
COMMON = {"type": "auto", "channel": "in_app", "subject": "Hi", "body": "Welcome", "state": "live"}


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _seed(workspace: Api) -> None:
    """Three users, two users sharing an email, and one lead."""
    done = workspace.import_csv(
        _csv(
            "email,user_id,name,phone,plan",
            "ann@example.com,u1,Ann,+442079460958,basic",
            "bob@example.com,u2,Bob,,basic",
            "cy@example.com,u3,Cy,,gold",
            "twin@example.com,t1,Twin One,,basic",
            "twin@example.com,t2,Twin Two,,basic",
        ).encode(),
        mapping=MAPPING,
        custom_attributes={"plan": "plan"},
    )
    assert done["counts"]["created"] == 5, done
    lead = workspace.import_csv(
        b"email,name\nlee@example.com,Lee\n",
        kind="leads",
        mapping={"email": "email", "name": "name"},
    )
    assert lead["counts"]["created"] == 1, lead


SECOND = _csv(
    "email,user_id,name,phone,plan",
    "ann@example.com,u1,Ann,+442079460958,basic",  # 1 unchanged: no tag, nothing new
    "bob@example.com,u2,VIP Bob,,gold",  # 2 updated: name, plan
    "new@example.com,n1,VIP New,,gold",  # 3 created
    "lee@example.com,u9,VIP Lee,,",  # 4 the lead becomes a user
    "twin@example.com,,Who,,",  # 5 fails: two users share the email
    "new@example.com,n1,VIP New Again,,",  # 6 row 3's person again: plan cleared
    "zed@example.com,z1,Zed,020 7946 0958,",  # 7 fails: a national phone, no default country
)


def _to_options(ui: Ui, name: str, content: str, *, plan: bool = True) -> None:
    """Signed in: through the wizard to "Tag and confirm" with ``content`` as the file."""
    page = ui.page
    _start_csv_import(ui)
    ui.drop_file("#drop-zone", name, content)
    expect(page.get_by_role("heading", name="Check the preview")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()
    expect(page.get_by_label("Email (required)")).to_have_value("email")
    if plan:
        page.get_by_label("Import column “plan”").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Tag and confirm")).to_be_visible()


def _preview(ui: Ui) -> None:
    page = ui.page
    page.get_by_role("button", name="Preview changes").click()
    expect(page.get_by_role("heading", name="Review the changes")).to_be_visible()
    expect(page.get_by_test_id("preview-rows")).to_be_visible(timeout=60_000)


def _stats(ui: Ui) -> dict[str, str]:
    return {
        key: ui.page.get_by_test_id(f"preview-{key}").inner_text()
        for key in ("rows", "created", "updated", "unchanged", "failed")
    }


def test_preview_shows_results_fields_problems_and_failed_rows(ui: Ui, workspace: Api) -> None:
    _seed(workspace)
    page = ui.page
    ui.sign_in(workspace.token)
    _to_options(ui, "second.csv", SECOND)
    # The choice for invalid optional values is on the step, not folded away.
    invalid = page.get_by_role("group", name="If a phone number, date or IP address is not valid")
    expect(invalid.get_by_label("Skip the whole row")).to_be_checked()
    expect(invalid.get_by_label("Import the person without that value")).not_to_be_checked()
    ui.shot("01-options")
    _preview(ui)

    assert _stats(ui) == {
        "rows": "7",
        "created": "1",
        "updated": "3",
        "unchanged": "1",
        "failed": "2",
    }
    expect(page.locator(".done-line")).to_have_text(
        "1 person would be created, 3 updated, 1 matched with nothing to change, out of 7 rows."
        " 2 rows would fail: nothing from them would be imported."
    )
    # Nothing was written: the people are as they were.
    assert {u["email"] for u in workspace.all_users()} == {
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "twin@example.com",
        "lee@example.com",
    }

    # The field table: row 6 leaves plan blank, which clears what row 3 sets.
    fields = page.get_by_role("table").filter(has_text="Values each field would get")
    plan = fields.locator("tbody tr").filter(has_text="Custom attribute “plan”")
    expect(plan.locator("td")).to_have_text(["Custom attribute “plan”", "1", "1", "1"])
    name = fields.locator("tbody tr").filter(has=page.locator("td", has_text=re.compile("^Name$")))
    expect(name.locator("td")).to_have_text(["Name", "1", "3", "0"])
    expect(page.locator(".field-counts")).to_contain_text("can keep the current values instead")

    # The problems, by cause: errors (not imported) apart from warnings, each with its fix.
    problems = page.locator("li.problem")
    phone = problems.filter(has_text="1 phone number has no country code")
    expect(phone.locator(".badge")).to_have_text("Not imported")
    expect(phone).to_contain_text("Row 7.")
    expect(phone.locator(".fix")).to_have_text(
        "How to fix: Choose a default country, or import those people without their phone."
    )
    expect(phone.get_by_role("button", name="Choose a default country")).to_be_visible()
    twice = problems.filter(has_text="1 person appears twice in the file")
    expect(twice.locator(".badge")).to_have_text("Warning")
    expect(problems.first).to_have_class(re.compile(r"\berror\b"))
    expect(problems.last).to_have_class(re.compile(r"\bwarning\b"))

    # The failed rows with their errors.
    failing = page.get_by_role("table").filter(has_text="Rows that would fail")
    expect(failing.locator("tbody tr")).to_have_count(2)
    row7 = failing.locator("tbody tr").filter(has=page.locator("td[data-label=Row]", has_text="7"))
    expect(row7.locator("td[data-label=Result]")).to_contain_text("Failed")
    expect(row7.locator("td[data-label=Problems]")).to_contain_text(
        "phone: '020 7946 0958' has no country calling code"
    )
    expect(failing).to_contain_text("ambiguous email")

    # A sample of the rows, old → new, filtered by result.
    sample = page.locator(".changes-view").last
    rows = sample.locator("tbody tr")
    expect(rows).to_have_count(7)
    bob = rows.filter(has=page.locator("td[data-label=Row]", has_text="2"))
    expect(bob.locator("td[data-label=Result]")).to_contain_text("Updated")
    expect(bob.locator("td[data-label=Result]")).to_contain_text("matched by user ID")
    change = bob.locator("ul.changes li").filter(has_text="Name:")
    expect(change.locator(".old")).to_have_text("Bob")
    expect(change.locator(".new")).to_have_text("VIP Bob")
    lee = rows.filter(has=page.locator("td[data-label=Row]", has_text="4"))
    expect(lee).to_contain_text("lead turned into a user")
    ui.shot("02-preview")
    sample.get_by_label("Failed (2)").check()
    expect(rows).to_have_count(2)
    expect(sample.locator("caption")).to_have_text("All 2 failed rows")
    sample.get_by_label("Unchanged (1)").check()
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td[data-label=Changes]")).to_have_text("Nothing changes")
    sample.get_by_label("Created (1)").check()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("new@example.com")

    # A problem's button opens the control that fixes it: the country beside the phone column.
    phone.get_by_role("button", name="Choose a default country").click()
    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()
    country = page.get_by_label("Default country for phone numbers")
    expect(country).to_be_focused()
    expect(page.locator("#default-country-count")).to_have_text(
        "1 of 2 numbers have no country code: choose their country."
    )
    ui.shot("03-fix-country")


def _two_messages(workspace: Api) -> tuple[Any, Any]:
    """Someone already reached, then two live auto messages: "VIPs" and "Everyone"."""
    workspace.import_csv(
        b"email,name\nseed@example.com,Seed\n", mapping={"email": "email", "name": "name"}
    )
    vips = workspace.new_message(
        name="VIPs", audience={"field": "name", "op": "starts_with", "value": "VIP"}, **COMMON
    )
    everyone = workspace.new_message(
        name="Everyone", audience={"field": "email", "op": "contains", "value": "@"}, **COMMON
    )
    return vips, everyone


THREE = _csv(
    "email,name", "vip1@example.com,VIP One", "vip2@example.com,VIP Two", "c@example.com,Cee"
)


def _preview_three(ui: Ui, vips: Any, everyone: Any) -> None:
    """The wizard's preview of THREE, each message sending as the preview counted it."""
    page = ui.page
    _to_options(ui, "vips.csv", THREE, plan=False)
    expect(page.locator(".live-messages")).to_contain_text("VIPs")
    _preview(ui)
    expect(page.locator("ul.message-reach li")).to_have_count(2)
    expect(page.get_by_test_id(f"reach-{vips['id']}")).to_have_text("Would reach 2 people.")
    expect(page.get_by_test_id(f"reach-{everyone['id']}")).to_have_text("Would reach 3 people.")
    expect(page.get_by_role("switch", name="Send “Everyone”")).to_be_checked()
    expect(page.get_by_role("switch", name="Send “VIPs”")).to_be_checked()


def test_a_suppressed_message_is_not_sent(ui: Ui, workspace: Api) -> None:
    vips, everyone = _two_messages(workspace)
    page = ui.page
    ui.sign_in(workspace.token)
    _preview_three(ui, vips, everyone)

    # Off: the line says so, and that the counts are from before the change.
    page.get_by_role("switch", name="Send “Everyone”").uncheck()
    expect(page.get_by_test_id(f"reach-{everyone['id']}")).to_have_text(
        "Switched off: it will not be sent to anyone in this import (the preview counted 3 people)."
    )
    expect(page.locator(".stale")).to_contain_text(
        "The numbers above were counted before that change."
    )
    ui.shot("01-switched-off")
    # Import sends the switches as they are (suppress_messages), without counting again.
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/imports/imp_"))
    _wait_completed(ui)
    import_id = page.url.rsplit("/", 1)[1]

    def reached() -> dict[str, tuple[int, bool]]:
        messages = workspace.status(import_id)["summary"]["messages"]
        return {m["message_id"]: (m["deliveries"], m["suppressed"]) for m in messages}

    expected = {vips["id"]: (2, False), everyone["id"]: (0, True)}
    assert Api.wait_for(reached, expected) == expected

    def emails(message_id: str) -> set[str]:
        return {d["email"] for d in workspace.pages(f"/api/messages/{message_id}/deliveries")}

    assert emails(vips["id"]) == {"vip1@example.com", "vip2@example.com"}
    assert emails(everyone["id"]) == {"seed@example.com"}  # reached when it went live, not now
    page.reload()
    _wait_completed(ui)
    sent = page.locator("ul.message-reach")
    expect(sent.locator("li").filter(has_text="VIPs")).to_contain_text("Reached 2 people so far.")
    expect(sent.locator("li").filter(has_text="Everyone")).to_contain_text("Suppressed")
    ui.shot("02-completed")


def test_update_preview_counts_again_without_the_suppressed_message(ui: Ui, workspace: Api) -> None:
    vips, everyone = _two_messages(workspace)
    page = ui.page
    ui.sign_in(workspace.token)
    _preview_three(ui, vips, everyone)

    page.get_by_role("switch", name="Send “Everyone”").uncheck()
    page.get_by_role("button", name="Update preview").click()
    expect(page.get_by_test_id(f"reach-{everyone['id']}")).to_have_text(
        re.compile("^Suppressed: sends to nobody in this import"), timeout=60_000
    )
    expect(page.get_by_test_id(f"reach-{vips['id']}")).to_have_text("Would reach 2 people.")
    expect(page.get_by_role("switch", name="Send “Everyone”")).not_to_be_checked()
    expect(page.locator(".stale")).to_be_hidden()
    # Counted afresh: the first run's would-be people are not taken for existing ones.
    assert _stats(ui) == {
        "rows": "3",
        "created": "3",
        "updated": "0",
        "unchanged": "0",
        "failed": "0",
    }
    ui.shot("01-suppressed")
    # Switched on again: the preview's "suppressed" is out of date, and the page says so.
    page.get_by_role("switch", name="Send “Everyone”").check()
    expect(page.get_by_test_id(f"reach-{everyone['id']}")).to_have_text(
        "Switched on: update the preview to count the people it would reach."
    )
    expect(page.locator(".stale")).to_be_visible()


def test_import_commits_what_the_preview_promised(ui: Ui, workspace: Api) -> None:
    _seed(workspace)
    page = ui.page
    ui.sign_in(workspace.token)
    _to_options(ui, "second.csv", SECOND)
    page.get_by_label("Tag", exact=True).fill("Second")
    _preview(ui)
    promised = _stats(ui)
    # The tag is a change: nobody matched is left unchanged.
    assert promised == {
        "rows": "7",
        "created": "1",
        "updated": "4",
        "unchanged": "0",
        "failed": "2",
    }

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/imports/imp_"))
    _wait_completed(ui)
    for key in ("created", "updated", "unchanged", "failed"):
        expect(page.get_by_test_id(f"count-{key}")).to_have_text(promised[key])
    expect(page.get_by_test_id("rows-done")).to_have_text("7 of 7")
    expect(page.locator(".done-line")).to_have_text(
        "Import completed with 2 failed rows: 1 created, 4 updated, 2 failed, out of 7 rows."
        " Nothing from a failed row was imported."
    )
    page.locator("details.failed-rows summary").click()  # folded under the causes
    failed_rows = page.get_by_role("table").filter(has_text="Failed rows")
    expect(failed_rows.locator("tbody tr")).to_have_count(2)
    ui.shot("01-completed")
    people = {u["email"]: u for u in workspace.all_users(tag="Second")}
    assert set(people) == {
        "ann@example.com",
        "bob@example.com",
        "new@example.com",
        "lee@example.com",
    }
    assert people["lee@example.com"]["role"] == "user"

    ui.nav("Import history")
    history = page.get_by_role("table").filter(has_text="newest first")
    first = history.locator("tbody tr").first
    expect(first.locator("td[data-label=Status]")).to_have_text("Completed with 2 failed")
    expect(first.locator("td[data-label=Created]")).to_have_text("1")
    expect(first.locator("td[data-label=Updated]")).to_have_text("4")
    expect(first.locator("td[data-label=Failed]")).to_have_text("2")
    ui.shot("02-history")
    first.get_by_role("link", name=re.compile("^View changes of the import of")).click()

    expect(page.get_by_role("heading", name="Changes made", level=1)).to_be_visible()
    rows = page.locator(".changes-view tbody tr")
    expect(rows).to_have_count(7)
    bob = rows.filter(has=page.locator("td[data-label=Row]", has_text="2"))
    expect(bob.locator("ul.changes li").filter(has_text="Name:").locator(".new")).to_have_text(
        "VIP Bob"
    )
    expect(bob.locator("ul.changes li").filter(has_text="Tags:")).to_have_text("Tags: + Second")
    page.get_by_label("Created (1)").check()
    expect(rows).to_have_count(1)
    # A real import's people exist: each row opens its person.
    rows.first.get_by_role("link", name="Open the person").click()
    expect(page.get_by_role("heading", name="VIP New Again", level=1)).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Changes made", level=1)).to_be_visible()
    ui.shot("03-changes")


def test_a_preview_in_the_history_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    _seed(workspace)
    workspace.new_message(
        name="VIPs", audience={"field": "name", "op": "starts_with", "value": "VIP"}, **COMMON
    )
    uploaded = workspace.upload(SECOND.encode(), name="second.csv")
    workspace.dry_run(
        uploaded["id"], mapping=MAPPING, custom_attributes={"plan": "plan"}, tag="Phone"
    )
    assert workspace.wait(uploaded["id"])["status"] == "previewed"
    page = ui.page
    ui.sign_in(workspace.token)

    ui.nav("Import history")
    first = page.locator("tbody tr").first
    expect(first.locator("td[data-label=Status]")).to_have_text("Preview: 2 would fail")
    ui.no_horizontal_scroll()
    ui.shot("01-history")
    first.get_by_role("link", name=re.compile("^Review and import the preview of")).click()

    expect(page.get_by_role("heading", name="Preview of the import of second.csv")).to_be_visible()
    expect(page.get_by_test_id("preview-created")).to_have_text("1")
    expect(page.get_by_test_id("preview-failed")).to_have_text("2")
    expect(page.locator("ul.message-reach")).to_contain_text("Would reach 3 people.")
    expect(page.locator("li.problem").first).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("02-preview")

    page.get_by_role("button", name="Import", exact=True).click()
    _wait_completed(ui)
    expect(page.get_by_role("heading", name="Import of second.csv")).to_be_visible()
    expect(page.get_by_test_id("count-created")).to_have_text("1")
    expect(page.get_by_role("link", name="View changes")).to_be_visible()
    ui.no_horizontal_scroll()
    ui.shot("03-completed")
    page.get_by_role("link", name="View changes").click()
    expect(page.locator(".changes-view tbody tr")).to_have_count(7)
    ui.no_horizontal_scroll()
    ui.shot("04-changes")


def test_people_are_imported_without_their_invalid_values(ui: Ui, workspace: Api) -> None:
    page = ui.page
    ui.sign_in(workspace.token)
    national = _csv(
        "email,name,phone",
        "ann@example.com,Ann,020 7946 0958",  # no country code: left out
        "bob@example.com,Bob,+442079460958",
        "bad-email,Dan,",  # an invalid email still fails the row
    )
    _to_options(ui, "national.csv", national, plan=False)
    invalid = page.get_by_role("group", name="If a phone number, date or IP address is not valid")
    invalid.get_by_label("Import the person without that value").check()
    _preview(ui)

    assert _stats(ui) == {
        "rows": "3",
        "created": "2",
        "updated": "0",
        "unchanged": "0",
        "failed": "1",
    }
    expect(page.get_by_test_id("preview-warnings")).to_have_text("1")
    phone = page.locator("li.problem").filter(has_text="1 phone number has no country code")
    expect(phone.locator(".badge")).to_have_text("Warning")
    expect(phone.get_by_role("button", name="Choose a default country")).to_be_visible()
    expect(phone.get_by_role("button", name=re.compile("without the phone"))).to_have_count(0)
    email = page.locator("li.problem").filter(has_text="1 email is not valid")
    expect(email.locator(".badge")).to_have_text("Not imported")
    ann = page.locator(".changes-view").last.locator("tbody tr").first
    expect(ann.locator("td[data-label=Result]")).to_contain_text("Created")
    expect(ann.locator("ul.changes")).not_to_contain_text("Phone")
    expect(ann.locator("li.warning")).to_contain_text("left out: phone: '020 7946 0958'")
    ui.shot("01-preview")

    page.get_by_role("button", name="Import", exact=True).click()
    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    people = {u["email"]: u for u in workspace.all_users()}
    assert set(people) == {"ann@example.com", "bob@example.com"}
    assert people["ann@example.com"]["phone"] is None
    assert people["bob@example.com"]["phone"] == "+442079460958"
    page.locator("details.failed-rows summary").click()  # folded under the causes
    failed_rows = page.get_by_role("table").filter(has_text="Failed rows")
    expect(failed_rows.locator("tbody tr")).to_have_count(1)  # not Ann: she was imported
    ui.shot("02-completed")


def test_the_rows_come_a_page_at_a_time(ui: Ui, workspace: Api) -> None:
    rows = [f"p{i}@example.com,Person {i}" for i in range(1, 26)]
    uploaded = workspace.upload(_csv("email,name", *rows).encode(), name="many.csv")
    workspace.dry_run(uploaded["id"], mapping={"email": "email", "name": "name"})
    assert workspace.wait(uploaded["id"])["status"] == "previewed"
    page = ui.page
    ui.sign_in(workspace.token)
    page.goto(f"{ui.base_url}/#/imports/{uploaded['id']}")

    sample = page.locator(".changes-view").last
    expect(sample.locator("tbody tr")).to_have_count(20)
    expect(sample.locator("caption")).to_have_text("The first 20 of 25 rows")
    more = sample.get_by_role("button", name="Show 20 more rows")
    more.click()
    expect(sample.locator("tbody tr")).to_have_count(25)
    expect(sample.locator("caption")).to_have_text("All 25 rows")
    expect(more).to_be_hidden()
    expect(sample.locator(".table-wrap")).to_be_focused()
    expect(sample.locator("tbody tr").last.locator("td[data-label=Row]")).to_have_text("25")
