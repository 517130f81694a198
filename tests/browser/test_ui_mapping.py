"""The mapping step in a real browser (SPEC §6.5): a remembered mapping and "Start fresh", the
other columns ticked as custom attributes (tick all, untick all, an existing attribute, the type
of a new one), the confirm step's "Not imported", the preview read again by the server (no CSV
reader in the page), the import tag's comma, and the default country beside the phone column.

Like the other browser modules: a workspace of its own per test, seeded over the API, the wizard
driven the way a person does, what the API then holds checked; screenshots in tests/artifacts/.
"""

from __future__ import annotations

import re

from tests.browser._helpers import _start_csv_import, _wait_completed, expect
from tests.browser.conftest import Ui
from tests.support.api import Api


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _to_preview(ui: Ui, name: str, content: str) -> None:
    """Signed in, on the wizard's first step: CSV, users, ``content`` dropped as ``name``."""
    _start_csv_import(ui)
    ui.drop_file("#drop-zone", name, content)
    expect(ui.page.get_by_role("heading", name="Check the preview")).to_be_visible()


def _to_mapping(ui: Ui, name: str, content: str) -> None:
    _to_preview(ui, name, content)
    ui.page.get_by_role("button", name="Continue").click()
    expect(ui.page.get_by_role("heading", name="Match the columns")).to_be_visible()


# A Shopify customers export, as Shopify names its columns.
SHOPIFY = _csv(
    "First Name,Last Name,Email,Phone,Accepts Email Marketing,Total Spent,Note",
    "Emma,Lee,emma@example.com,(201) 555-0123,yes,120.50,likes tea",
    "Omar,Khan,omar@example.com,(201) 555-0124,no,80.00,",
)
SHOPIFY_MAPPING = {
    "email": "Email",
    "name": "First Name",
    "name_last": "Last Name",
    "phone": "Phone",
}
SHOPIFY_ATTRIBUTES = {"Accepts Email Marketing": "accepts marketing", "Total Spent": "spent"}
# The same header set another week: other order, other case.
SHOPIFY_AGAIN = _csv(
    "email,first name,LAST NAME,Note,Total Spent,Accepts Email Marketing,Phone",
    "ava@example.com,Ava,Stone,,15.00,yes,(201) 555-0125",
    "emma@example.com,Emma,Lee,tea,130.50,yes,(201) 555-0123",
)


def test_a_second_upload_gets_the_remembered_mapping(ui: Ui, workspace: Api) -> None:
    # The first import, over the API: leads, two attributes of chosen types, Note left out,
    # blank cells kept, dates month first, US numbers.
    first = workspace.upload(SHOPIFY.encode(), name="shopify-march.csv")
    workspace.start(
        first["id"],
        kind="leads",
        mapping=SHOPIFY_MAPPING,
        custom_attributes=SHOPIFY_ATTRIBUTES,
        attribute_types={"accepts marketing": "boolean", "spent": "float"},
        blank_values="ignore",
        date_order="MDY",
        default_country="US",
    )
    assert workspace.wait(first["id"])["status"] == "completed"
    [remembered] = workspace.ok("GET", "/api/mappings")["data"]
    assert remembered["import_id"] == first["id"]

    page = ui.page
    ui.sign_in(workspace.token)
    _to_mapping(ui, "shopify-april.csv", SHOPIFY_AGAIN)
    day = page.evaluate(
        "iso => new Date(iso).toLocaleDateString(undefined, { dateStyle: 'long' })",
        remembered["used_at"],
    )
    banner = page.get_by_test_id("mapping-source")
    expect(banner).to_contain_text(
        f"Using the mapping from your import of {day} (shopify-march.csv)."
    )
    expect(banner).to_contain_text(
        "import as leads; blank cells keep the current value; dates month first (MM/DD/YYYY);"
        " numbers without a country code are United States numbers"
    )

    def remembered_choices() -> None:
        """What the first import was started with, on this file's columns."""
        expect(page.get_by_label("Email (required)")).to_have_value("email")
        expect(page.get_by_label("Name", exact=True)).to_have_value("first name")
        expect(page.get_by_label("Last name", exact=True)).to_have_value("LAST NAME")
        expect(page.get_by_label("Phone", exact=True)).to_have_value("Phone")
        expect(page.get_by_label("User ID", exact=True)).to_be_disabled()  # leads
        expect(page.get_by_label("Default country for phone numbers")).to_have_value("US")
        for column, attribute in (
            ("Accepts Email Marketing", "accepts marketing"),
            ("Total Spent", "spent"),
        ):
            expect(page.get_by_label(f"Import column “{column}”")).to_be_checked()
            expect(page.get_by_label(f"Attribute for “{column}”")).to_have_value(attribute)
        expect(page.get_by_label("Import column “Note”")).not_to_be_checked()

    remembered_choices()
    expect(page.get_by_label("Attribute for “Total Spent”")).to_contain_text(
        "spent (Decimal number)"
    )
    ui.shot("01-remembered")

    # The confirm step has the options too, and says what is left out.
    page.get_by_role("button", name="Continue").click()
    summary = page.locator("dl.summary")
    kind = summary.locator("xpath=dt[normalize-space()='Import as']/following-sibling::dd[1]")
    expect(kind).to_have_text("Leads")
    expect(page.get_by_test_id("not-imported")).to_have_text("Note")
    expect(summary).to_contain_text(
        "Custom attribute “accepts marketing” ← Accepts Email Marketing (existing, true / false)"
    )
    page.get_by_text("More options").click()
    expect(page.get_by_label("Blank cells")).to_have_value("ignore")
    expect(page.get_by_label("Dates like 03/04/2015")).to_have_value("MDY")
    page.get_by_role("button", name="Back").click()

    # Start fresh, from the keyboard: the suggestion, every other column ticked, the defaults.
    page.get_by_role("button", name="Start fresh").focus()
    page.keyboard.press("Enter")
    again = page.get_by_role("button", name=re.compile(r"^Use the mapping from .* again$"))
    expect(again).to_be_focused()
    expect(banner).to_contain_text("Started fresh")
    expect(page.get_by_label("Email (required)")).to_have_value("email")
    expect(page.get_by_label("Name", exact=True)).to_have_value("first name")
    expect(page.get_by_label("Last name", exact=True)).to_have_value("LAST NAME")
    expect(page.get_by_label("User ID", exact=True)).to_be_enabled()  # the kind chosen: users
    expect(page.get_by_label("Default country for phone numbers")).to_have_value("")
    for column in ("Note", "Total Spent", "Accepts Email Marketing"):
        expect(page.get_by_label(f"Import column “{column}”")).to_be_checked()
        expect(page.get_by_label(f"Attribute for “{column}”")).to_have_value("")
        expect(page.get_by_label(f"Attribute name for “{column}”")).to_have_value(column)
    expect(page.get_by_label("Type of “Accepts Email Marketing”")).to_have_value("boolean")
    expect(page.get_by_label("Type of “Total Spent”")).to_have_value("float")
    ui.shot("02-start-fresh")
    page.get_by_role("button", name="Continue").click()
    expect(kind).to_have_text("Users")
    expect(page.get_by_test_id("not-imported")).to_have_text("Nothing: every column is imported.")
    page.get_by_text("More options").click()
    expect(page.get_by_label("Blank cells")).to_have_value("clear")
    page.get_by_role("button", name="Back").click()

    # And back to the remembered one, which this import is started with.
    again.click()
    expect(page.get_by_role("button", name="Start fresh")).to_be_focused()
    remembered_choices()
    page.get_by_role("button", name="Continue").click()
    with page.expect_request("**/api/imports/*/start") as sent:
        page.get_by_role("button", name="Start import without preview").click()
    body = sent.value.post_data_json
    assert body["kind"] == "leads"
    assert body["mapping"] == {
        "email": "email",
        "name": "first name",
        "name_last": "LAST NAME",
        "phone": "Phone",
    }
    assert body["custom_attributes"] == {
        "Total Spent": "spent",
        "Accepts Email Marketing": "accepts marketing",
    }
    assert body["attribute_types"] == {}  # both exist: their types are fixed
    assert (body["blank_values"], body["date_order"], body["default_country"]) == (
        "ignore",
        "MDY",
        "US",
    )
    _wait_completed(ui)
    second_id = page.url.rsplit("/", 1)[1]
    [kept] = workspace.ok("GET", "/api/mappings")["data"]
    assert kept["import_id"] == second_id

    # Forgotten, the header set gets a suggestion again: no banner.
    assert workspace.request("DELETE", f"/api/mappings/{kept['id']}").status_code == 204
    ui.nav("Import people")
    _to_mapping(ui, "shopify-may.csv", SHOPIFY_AGAIN)
    expect(page.get_by_test_id("mapping-source")).to_have_count(0)
    expect(page.get_by_label("Import column “Note”")).to_be_checked()


def test_the_remembered_mapping_on_a_phone(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    first = workspace.upload(SHOPIFY.encode(), name="shopify-march.csv")
    workspace.start(
        first["id"],
        mapping=SHOPIFY_MAPPING,
        custom_attributes=SHOPIFY_ATTRIBUTES,
        default_country="US",
    )
    assert workspace.wait(first["id"])["status"] == "completed"
    page = ui.page
    ui.sign_in(workspace.token)
    _to_mapping(ui, "shopify-april.csv", SHOPIFY_AGAIN)
    expect(page.get_by_test_id("mapping-source")).to_contain_text("Using the mapping from")
    expect(page.get_by_label("Attribute for “Total Spent”")).to_have_value("spent")
    ui.no_horizontal_scroll()
    ui.shot("01-remembered")
    page.get_by_role("button", name="Start fresh").click()
    expect(page.get_by_label("Attribute name for “Total Spent”")).to_have_value("Total Spent")
    ui.no_horizontal_scroll()
    ui.shot("02-start-fresh")


OTHER_COLUMNS = _csv(
    "Email,Name,Plan,Seats,Renews,Beta,Notes",
    "ann@example.com,Ann,pro,3,2025-01-31,yes,call her",
    "bob@example.com,Bob,free,1,2025-02-28,no,",
    "cy@example.com,Cy,pro,12,2025-03-31,yes,vip",
)


def test_other_columns_are_ticked_and_typed(ui: Ui, workspace: Api) -> None:
    # The workspace has one attribute already: "tier", text.
    workspace.ok(
        "POST", "/api/users", json={"email": "old@example.com", "custom_attributes": {"tier": "x"}}
    )
    page = ui.page
    ui.sign_in(workspace.token)
    _to_mapping(ui, "plans.csv", OTHER_COLUMNS)
    expect(page.get_by_test_id("mapping-source")).to_have_count(0)
    others = ("Plan", "Seats", "Renews", "Beta", "Notes")
    checks = [page.get_by_label(f"Import column “{c}”") for c in others]
    counter = page.locator("fieldset.attributes .attribute-bar .hint")

    # Every other column ticked, named after its header, typed from its values.
    for column, check in zip(others, checks, strict=True):
        expect(check).to_be_checked()
        expect(page.get_by_label(f"Attribute name for “{column}”")).to_have_value(column)
        expect(page.get_by_label(f"Attribute for “{column}”")).to_have_value("")
    for column, type_ in (
        ("Plan", "string"),
        ("Seats", "integer"),
        ("Renews", "date"),
        ("Beta", "boolean"),
    ):
        expect(page.get_by_label(f"Type of “{column}”")).to_have_value(type_)
    expect(counter).to_have_text("5 of 5 columns are imported as custom attributes.")
    ui.shot("01-ticked")

    page.get_by_role("button", name="Untick all").click()
    for column, check in zip(others, checks, strict=True):
        expect(check).not_to_be_checked()
        expect(page.get_by_label(f"Attribute name for “{column}”")).to_be_disabled()
    expect(counter).to_have_text("0 of 5 columns are imported as custom attributes.")
    page.get_by_role("button", name="Tick all", exact=True).click()
    for check in checks:
        expect(check).to_be_checked()
    expect(counter).to_have_text("5 of 5 columns are imported as custom attributes.")

    # Plan goes into the existing "tier", whose type is fixed.
    target = page.get_by_label("Attribute for “Plan”")
    expect(target.locator("option", has_text="tier (Text)")).to_have_count(1)
    target.select_option("tier")
    expect(page.get_by_label("Attribute name for “Plan”")).to_be_hidden()
    expect(page.get_by_label("Type of “Plan”")).to_be_hidden()
    expect(page.locator(".attribute").filter(has_text="“Plan”")).to_contain_text(
        "Its type is Text; it cannot change."
    )
    # A new name the workspace has is that attribute: its type shown, not chosen; and two
    # columns cannot go into one.
    renews = page.get_by_label("Attribute name for “Renews”")
    renews.fill("TIER")
    expect(page.get_by_label("Type of “Renews”")).to_be_disabled()
    expect(page.get_by_label("Type of “Renews”")).to_have_value("string")
    expect(page.locator(".attribute").filter(has_text="“Renews”")).to_contain_text(
        "Your workspace has “tier” (Text): the values go into it."
    )
    expect(renews).to_have_attribute("aria-invalid", "true")
    renews.fill("Renews")
    expect(page.get_by_label("Type of “Renews”")).to_be_enabled()
    expect(page.get_by_label("Type of “Renews”")).to_have_value("date")
    expect(page.locator(".attribute .field-error li")).to_have_count(0)

    # Seats as a decimal number, not the whole number its values suggest; Notes left out.
    page.get_by_label("Type of “Seats”").select_option("float")
    page.get_by_label("Import column “Notes”").uncheck()
    expect(counter).to_have_text("4 of 5 columns are imported as custom attributes.")
    ui.shot("02-chosen")

    page.get_by_role("button", name="Continue").click()
    summary = page.locator("dl.summary")
    for line in (
        "Custom attribute “tier” ← Plan (existing, text)",
        "Custom attribute “Seats” ← Seats (new, decimal number)",
        "Custom attribute “Renews” ← Renews (new, date)",
        "Custom attribute “Beta” ← Beta (new, true / false)",
    ):
        expect(summary).to_contain_text(line)
    expect(page.get_by_test_id("not-imported")).to_have_text("Notes")
    ui.shot("03-confirm")
    with page.expect_request("**/api/imports/*/start") as sent:
        page.get_by_role("button", name="Start import without preview").click()
    body = sent.value.post_data_json
    assert body["custom_attributes"] == {
        "Plan": "tier",
        "Seats": "Seats",
        "Renews": "Renews",
        "Beta": "Beta",
    }
    assert body["attribute_types"] == {"Seats": "float", "Renews": "date", "Beta": "boolean"}
    _wait_completed(ui)
    expect(page.get_by_test_id("count-created")).to_have_text("3")

    types = {a["name"]: a["type"] for a in workspace.ok("GET", "/api/attributes")["data"]}
    assert types == {"tier": "string", "Seats": "float", "Renews": "date", "Beta": "boolean"}
    ann = {p["email"]: p for p in workspace.all_users()}["ann@example.com"]
    attributes = ann["custom_attributes"]
    assert set(attributes) == {"tier", "Seats", "Renews", "Beta"}
    assert (attributes["tier"], attributes["Seats"], attributes["Beta"]) == ("pro", 3.0, True)
    assert attributes["Renews"].startswith("2025-01-31")


def test_the_preview_is_read_again_by_the_server(ui: Ui, workspace: Api) -> None:
    page = ui.page
    loaded: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    ui.sign_in(workspace.token)
    _to_preview(ui, "semicolons.csv", _csv("Email;Name;Plan", "ann@example.com;Ann;pro"))
    preview = page.get_by_role("region", name="Preview of the file")
    expect(page.get_by_test_id("detected-delimiter")).to_have_text("Semicolon ( ; )")
    expect(preview.locator("thead th")).to_have_text(["Email", "Name", "Plan"])

    # Another delimiter: the server reads the file again, and the page shows its reading.
    with page.expect_request("**/api/imports/*/preview") as asked:
        page.get_by_label("Delimiter").select_option(",")
    assert asked.value.method == "POST"
    assert asked.value.post_data_json == {"encoding": "utf-8", "delimiter": ","}
    expect(preview.locator("thead th")).to_have_text(["Email;Name;Plan"])
    status = page.get_by_test_id("preview-status")
    expect(status).to_have_text("Read again as UTF-8, comma ( , ): 1 column.")
    ui.shot("01-read-with-commas")

    # A reading the server refuses is said, and the settings go back to the server's.
    refusal = {"error": {"code": "invalid", "message": "the file cannot be read so: not UTF-16"}}
    page.route("**/api/imports/*/preview", lambda route: route.fulfill(status=422, json=refusal))
    page.get_by_label("Encoding").select_option("utf-16")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The file was not read again")
    expect(alert).to_contain_text("not UTF-16")
    expect(page.get_by_label("Encoding")).to_have_value("utf-8")
    expect(page.locator(".card")).to_contain_text("It is still read as UTF-8, comma ( , ).")
    ui.shot("02-refused")
    page.unroute("**/api/imports/*/preview")

    page.get_by_label("Delimiter").select_option(";")
    expect(preview.locator("thead th")).to_have_text(["Email", "Name", "Plan"])
    expect(alert).to_have_count(0)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Email (required)")).to_have_value("Email")
    expect(page.get_by_label("Import column “Plan”")).to_be_checked()

    # One CSV reader, the server's: the page has none of its own.
    assert not [url for url in loaded if url.endswith("/csv.js")], loaded
    assert page.request.get(f"{ui.base_url}/ui/csv.js").status == 404
    scripts = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.endsWith('.js'))"
    )
    assert scripts and not [s for s in scripts if s.endswith("/csv.js")]


def test_the_import_tag_cannot_hold_a_comma(ui: Ui, workspace: Api) -> None:
    page = ui.page
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    ui.sign_in(workspace.token)
    _to_mapping(ui, "shop.csv", _csv("Email,Name,Tags", 'ann@example.com,Ann,"VIP, wholesale"'))
    expect(page.get_by_label("Tags", exact=True)).to_have_value("Tags")
    page.get_by_role("button", name="Continue").click()

    tag = page.get_by_label("Tag", exact=True)
    expect(page.locator("#import-tag-hint")).to_have_text(
        "One tag for everyone imported from this file, e.g. New Sign-Ups 2015."
        " It cannot contain a comma: in a Tags column, commas separate tags."
    )
    tag.fill("Shopify, VIP")
    error = page.locator("#import-tag-error")
    expect(error).to_have_text(
        "A tag cannot contain a comma: commas separate tags in a Tags column."
        " Choose one tag, e.g. “Shopify”."
    )
    expect(tag).to_have_attribute("aria-invalid", "true")
    ui.shot("01-comma")
    # Neither Enter (the preview) nor Start sends it: the focus goes back to the tag.
    before = len(posted)
    tag.press("Enter")
    page.get_by_role("button", name="Start import without preview").click()
    expect(tag).to_be_focused()
    expect(page.get_by_role("heading", name="Tag and confirm")).to_be_visible()
    assert not [u for u in posted[before:] if re.search(r"/(start|dry-run)$", u)], posted

    tag.fill("Shopify")
    expect(error).to_be_hidden()
    expect(tag).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Start import without preview").click()
    _wait_completed(ui)
    [ann] = workspace.all_users()
    assert sorted(ann["tags"]) == ["Shopify", "VIP", "wholesale"]


PHONES = _csv(
    "Email,Name,Phone,Favourite colour",
    "ann@example.com,Ann,020 7946 0958,teal",
    "bob@example.com,Bob,+442079460959,plum",
    "cat@example.com,Cat,07400 123456,red",
    "dan@example.com,Dan,0121 234 5678,blue",
)


def test_the_default_country_is_beside_the_phone_column(narrow_ui: Ui, workspace: Api) -> None:
    ui = narrow_ui
    page = ui.page
    ui.sign_in(workspace.token)
    _to_mapping(ui, "phones.csv", PHONES)
    country = page.get_by_label("Default country for phone numbers")
    count = page.locator("#default-country-count")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("Phone")
    expect(country).to_have_value("")
    expect(count).to_have_text("3 of 4 numbers have no country code: choose their country.")
    ui.no_horizontal_scroll()
    ui.shot("01-phone-country")

    country.select_option("GB")
    expect(count).to_have_text(
        "3 of 4 numbers have no country code: they are read as United Kingdom numbers,"
        " and one not valid there is refused."
    )
    # Without a phone column there is nothing to choose.
    page.get_by_label("Phone", exact=True).select_option("")
    expect(country).to_be_hidden()
    page.get_by_label("Phone", exact=True).select_option("Phone")
    expect(country).to_have_value("GB")
    ui.no_horizontal_scroll()
    ui.shot("02-country-chosen")

    page.get_by_role("button", name="Continue").click()
    expect(page.locator("dl.summary")).to_contain_text(
        "Phone ← Phone (without a country code: United Kingdom numbers)"
    )
    expect(page.get_by_test_id("not-imported")).to_have_text("Nothing: every column is imported.")
    ui.no_horizontal_scroll()
    ui.shot("03-confirm")
    with page.expect_request("**/api/imports/*/start") as sent:
        page.get_by_role("button", name="Start import without preview").click()
    assert sent.value.post_data_json["default_country"] == "GB"
    _wait_completed(ui)
    expect(page.get_by_test_id("count-failed")).to_have_text("0")
    phones = {p["email"]: p["phone"] for p in workspace.all_users()}
    assert phones == {
        "ann@example.com": "+442079460958",
        "bob@example.com": "+442079460959",
        "cat@example.com": "+447400123456",
        "dan@example.com": "+441212345678",
    }
