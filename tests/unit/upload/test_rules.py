"""The upload API's pure rules (services/upload/rules.py): starting an import (and what the
upload's sample of values says about its mapping), the options every import shares, what can be
cancelled or deleted, and when a message's change sends it."""

from __future__ import annotations

from typing import Any

import pytest

from services.upload import column_mapping, rules

COLUMNS = ["Email", "User ID", "Name", "Last", "Plan", "Seats"]


def start(**over: Any) -> rules.Start:
    base: dict[str, Any] = {
        "kind": "users",
        "mapping": {"email": "Email"},
        "custom_attributes": {},
        "tag": None,
        "default_country": None,
        "encoding": None,
        "delimiter": None,
    }
    base.update(over)
    return rules.Start(**base)


def test_a_complete_start_has_no_problem() -> None:
    body = start(
        mapping={"email": "Email", "user_id": "User ID"}, custom_attributes={"Plan": "plan"}
    )
    assert rules.start_problems(body, COLUMNS, {}) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (start(mapping={}), "mapping.email is required"),
        (start(mapping={"email": "Mail"}), "mapping.email: the file has no column 'Mail'"),
        (start(mapping={"email": "Email", "plan": "Plan"}), "mapping.plan: unknown field"),
        (start(mapping={"email": "Email", "name_last": "Last"}), "name_last needs mapping.name"),
        (
            start(kind="leads", mapping={"email": "Email", "user_id": "User ID"}),
            "leads have no user_id",
        ),
        (start(custom_attributes={"Plan": "a.b"}), "contains '.', which is not allowed"),
        (start(custom_attributes={"Plan": "email"}), "is a standard field"),
        (
            start(custom_attributes={"Plan": "Tier", "Seats": "tier"}),
            "'tier' is already used for column 'Plan'",
        ),
        (start(custom_attributes={"Nope": "x"}), "the file has no column 'Nope'"),
        (start(tag="x" * 256), "at most 255 are allowed"),
        (start(tag="VIP\nGold"), "contains a line break"),
        (start(default_country="XX"), "'XX' is not an ISO 3166 alpha-2 country code"),
        (start(encoding="latin-9"), "encoding: use one of utf-8"),
        (start(delimiter=":"), "delimiter: use one of"),
        (start(tag="Shopify, VIP"), "(as in a tags column); choose one, e.g. 'Shopify'"),
        (
            start(attribute_types={"plan": "integer"}),
            "attribute_types.plan: no column is mapped to 'plan'",
        ),
        (
            start(custom_attributes={"Plan": "plan"}, attribute_types={"plan": "money"}),
            "'money' is not a type; use one of",
        ),
    ],
)
def test_every_problem_is_named(body: rules.Start, problem: str) -> None:
    problems = rules.start_problems(body, COLUMNS, {})
    assert any(problem in p for p in problems), problems


def test_a_header_without_rows_cannot_start() -> None:
    assert rules.start_problems(start(), COLUMNS, {}, has_rows=False) == [
        "the file has a header but no rows: add at least one row to import"
    ]


def test_the_workspace_cap_counts_only_new_names() -> None:
    existing = {f"a{i}": "string" for i in range(249)}
    fine = start(custom_attributes={"Plan": "A0", "Seats": "new one"})  # A0 exists (any case)
    assert rules.start_problems(fine, COLUMNS, existing) == []
    over = start(custom_attributes={"Plan": "new", "Seats": "newer"})
    assert (
        "at most 250 custom attributes; it has 249 and this import would add 2"
        in (rules.start_problems(over, COLUMNS, existing)[0])
    )


def test_every_problem_is_listed_at_once() -> None:
    body = start(mapping={}, tag="x" * 300, default_country="ZZ")
    assert len(rules.start_problems(body, COLUMNS, {})) == 3
    assert rules.summary(["one"]) == "one" and rules.summary(["a", "b"]) == "2 problems to fix"


def test_a_mixpanel_export_takes_options_only() -> None:
    assert rules.json_start_problems(start(mapping={})) == []
    problems = rules.json_start_problems(start(encoding="utf-8", custom_attributes={"a": "b"}))
    assert len(problems) == 2 and "mapped automatically" in problems[0]


def test_common_options_are_normalised() -> None:
    assert rules.CommonOptions.of("  VIP  ", " gb ") == rules.CommonOptions("VIP", "GB")
    assert rules.CommonOptions.of("   ", None) == rules.CommonOptions(None, None)
    assert rules.common_problems("ok", "gb") == []


# -- the mapping against the sample --------------------------------------------------------

SAMPLE_COLUMNS = ["Email", "Name", "Phone", "Phone 1 - Label", "Joined", "IP"]
SAMPLE = [
    ["ann@example.com", "Ann Archer", "+44 20 7946 0958", "* Home", "01/02/2015", "192.0.2.1"],
    ["bob@example.com", "Bob Baker", "+1 212 555 0100", "* Work", "2015-03-04", "::1"],
    ["cat@example.com", "Cat Cole", "0044 20 7946 0959", "* Mobile", "1420070400", "10.0.0.1"],
]


def sample_column(column: str, cells: list[str]) -> list[list[str]]:
    """A preview whose ``column`` holds ``cells`` (one a row) and whose other cells are blank."""
    i = SAMPLE_COLUMNS.index(column)
    return [[""] * i + [cell] for cell in cells]


def test_a_mapping_that_fits_its_sample_says_nothing() -> None:
    mapping = {
        "email": "Email",
        "name": "Name",
        "phone": "Phone",
        "signed_up_at": "Joined",
        "last_seen_ip": "IP",
    }
    assert rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE) == ([], [])


def test_a_name_column_mapped_as_email_is_refused() -> None:
    problems, warnings = rules.sample_problems({"email": "Name"}, SAMPLE_COLUMNS, SAMPLE)
    assert problems == [
        "0 of 3 values in 'Name' look like email addresses:"
        " map mapping.email to the column that holds them"
    ]
    assert warnings == []


def test_one_good_email_in_the_sample_is_enough() -> None:
    preview = sample_column("Email", ["not-an-email", "ann@", "cat@example.com"])
    assert rules.sample_problems({"email": "Email"}, SAMPLE_COLUMNS, preview) == ([], [])


@pytest.mark.parametrize(
    ("field", "column", "warning"),
    [
        (
            "phone",
            "Phone 1 - Label",
            "0 of 3 values in 'Phone 1 - Label' look like phone numbers:"
            " map mapping.phone to the column that holds them or leave phone unmapped",
        ),
        (
            "signed_up_at",
            "Name",
            "0 of 3 values in 'Name' look like dates: map mapping.signed_up_at to the column"
            " that holds them or leave signed_up_at unmapped",
        ),
        ("last_seen_at", "Phone 1 - Label", "0 of 3 values in 'Phone 1 - Label' look like dates"),
        (
            "last_seen_ip",
            "Joined",
            "0 of 3 values in 'Joined' look like IP addresses: map mapping.last_seen_ip to the"
            " column that holds them or leave last_seen_ip unmapped",
        ),
    ],
)
def test_other_fields_whose_sample_does_not_fit_are_warned(
    field: str, column: str, warning: str
) -> None:
    mapping = {"email": "Email", field: column}
    problems, warnings = rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE)
    assert problems == []
    assert len(warnings) == 1 and warnings[0].startswith(warning), warnings


def test_national_phones_without_a_default_country_are_warned() -> None:
    preview = sample_column("Phone", ["020 7946 0958", "+44 20 7946 0959", "020 7946 0960"])
    problems, warnings = rules.sample_problems({"phone": "Phone"}, SAMPLE_COLUMNS, preview)
    assert problems == []
    assert warnings == [
        "2 of 3 values in 'Phone' have no country code: choose a default country"
        " (set default_country, e.g. GB)"
    ]
    # With the country they are phone numbers; a country that is not one is start_problems'.
    ok = rules.sample_problems({"phone": "Phone"}, SAMPLE_COLUMNS, preview, default_country="gb")
    assert ok == ([], [])
    bad = rules.sample_problems({"phone": "Phone"}, SAMPLE_COLUMNS, preview, default_country="ZZ")
    assert bad == ([], [])


def test_labels_with_a_default_country_are_still_not_phone_numbers() -> None:
    problems, warnings = rules.sample_problems(
        {"phone": "Phone 1 - Label"}, SAMPLE_COLUMNS, SAMPLE, default_country="GB"
    )
    assert problems == [] and len(warnings) == 1
    assert warnings[0].startswith("0 of 3 values in 'Phone 1 - Label' look like phone numbers")


def test_dates_that_fit_only_the_other_order_name_it() -> None:
    preview = sample_column("Joined", ["12/31/2015", "02/28/2015", "13/13/2015"])
    problems, warnings = rules.sample_problems({"signed_up_at": "Joined"}, SAMPLE_COLUMNS, preview)
    assert problems == []
    assert warnings == [
        "0 of 3 values in 'Joined' are DD/MM/YYYY dates but 2 look like MM/DD/YYYY:"
        " set date_order to MDY"
    ]
    mdy = rules.sample_problems(
        {"signed_up_at": "Joined"}, SAMPLE_COLUMNS, preview, date_order="MDY"
    )
    assert mdy == ([], [])  # "13/13/2015" is no date in either order


def test_blanks_are_not_sample_values() -> None:
    # Five cells, two of them names and three blank (or missing, in short rows): too few to say.
    preview = [["", "Ann"], ["", "  "], ["", "Bob"], [""], []]
    assert rules.sample_problems({"email": "Name"}, SAMPLE_COLUMNS, preview) == ([], [])
    preview.append(["", "Cat"])
    problems, _ = rules.sample_problems({"email": "Name"}, SAMPLE_COLUMNS, preview)
    assert problems == [
        "0 of 3 values in 'Name' look like email addresses:"
        " map mapping.email to the column that holds them"
    ]


@pytest.mark.parametrize("count", [0, 1, 2])
def test_fewer_than_three_values_say_nothing(count: int) -> None:
    preview = sample_column("Name", ["Ann", "Bob"][:count])
    mapping = {"email": "Name", "phone": "Name", "last_seen_ip": "Name"}
    said = rules.sample_problems(mapping, SAMPLE_COLUMNS, preview, allow_shared_columns=True)
    assert said == ([], [])


def test_user_ids_unknown_fields_and_columns_are_not_checked() -> None:
    mapping = {"email": "Email", "user_id": "Name", "plan": "Name", "phone": "Nope"}
    assert rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE) == ([], [])


def test_a_column_mapped_to_two_fields_is_refused_unless_meant() -> None:
    mapping = {"email": "Email", "name": "Email"}
    problems, warnings = rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE)
    assert problems == [
        "column 'Email' is mapped to both email and name: map each field to its own column"
        " (or send allow_shared_columns: true if that is meant)"
    ]
    assert warnings == []
    meant = rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE, allow_shared_columns=True)
    assert meant == ([], [])


def test_a_column_mapped_to_three_fields_lists_them_in_field_order() -> None:
    mapping = {"tags": "Name", "email": "Email", "name": "Name", "name_last": "Name"}
    problems, _ = rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE)
    assert problems == [
        "column 'Name' is mapped to name, tags and name_last: map each field to its own column"
        " (or send allow_shared_columns: true if that is meant)"
    ]


def test_the_sample_and_shared_column_problems_come_together() -> None:
    mapping = {"email": "Name", "name": "Name", "phone": "Phone 1 - Label"}
    problems, warnings = rules.sample_problems(mapping, SAMPLE_COLUMNS, SAMPLE)
    assert [p.split(":")[0] for p in problems] == [
        "0 of 3 values in 'Name' look like email addresses",
        "column 'Name' is mapped to both email and name",
    ]
    assert [w.split(":")[0] for w in warnings] == [
        "0 of 3 values in 'Phone 1 - Label' look like phone numbers"
    ]


@pytest.mark.parametrize(
    "columns",
    [
        ["Email", "Name", "User ID", "Signed up", "Phone", "Last seen", "IP address", "Tags"],
        ["Email Address", "First Name", "Last Name", "OPTIN_TIME", "OPTIN_IP", "TAGS", "Phone"],
        ["E-mail", "Email", "Work Email", "Name", "Full name", "Phone", "Mobile"],
    ],
)
def test_suggested_mappings_never_share_a_column(columns: list[str]) -> None:
    for source in ("csv", "mailchimp_csv"):
        mapping = column_mapping.suggested_mapping(columns, source)
        assert rules.sample_problems(mapping, columns, []) == ([], []), mapping


def message(type_: str, state: str, activated: bool) -> dict[str, Any]:
    return {"type": type_, "state": state, "activated_at": "then" if activated else None}


@pytest.mark.parametrize(
    ("row", "changes", "sends"),
    [
        (message("auto", "paused", False), {"state": "live"}, True),
        (message("auto", "paused", True), {"state": "live"}, True),  # every time it goes live
        (message("auto", "live", True), {"state": "live"}, False),  # already live
        (message("auto", "live", True), {"audience": {"and": []}}, True),  # new audience, live
        (message("auto", "paused", True), {"audience": {"and": []}}, False),
        (message("auto", "live", True), {"name": "x"}, False),
        (message("manual", "paused", False), {"state": "live"}, True),  # the first time only
        (message("manual", "paused", True), {"state": "live"}, False),
        (message("manual", "live", True), {"audience": {"and": []}}, False),
    ],
)
def test_when_a_change_sends_a_message(
    row: dict[str, Any], changes: dict[str, Any], sends: bool
) -> None:
    assert rules.activates(row, changes) is sends


def test_an_existing_attribute_keeps_its_type() -> None:
    body = start(custom_attributes={"Plan": "Plan"}, attribute_types={"Plan": "integer"})
    assert rules.start_problems(body, COLUMNS, {"plan": "string"}) == [
        "attribute_types.Plan: the attribute 'plan' exists as string; its type cannot change"
        " (leave it out of attribute_types, or name a new attribute)"
    ]
    same = start(custom_attributes={"Plan": "plan"}, attribute_types={"plan": "string"})
    assert rules.start_problems(same, COLUMNS, {"plan": "string"}) == []


# -- cancelling and deleting an import ----------------------------------------------------


def import_row(**over: Any) -> dict[str, Any]:
    return {"status": "processing", "source": "csv", "api_day": None, **over}


@pytest.mark.parametrize(
    ("over", "refusal"),
    [
        ({}, None),
        ({"status": "queued"}, None),
        ({"status": "processing", "source": "mailchimp"}, None),
        ({"status": "completed"}, "the import is completed already"),
        ({"status": "previewed"}, "the import is previewed already"),
        ({"status": "cancelled"}, "the import is cancelled already"),
        ({"status": "failed"}, "the import is failed already"),
        ({"status": "uploaded"}, "never started, so there is nothing to cancel: delete"),
        ({"source": "undo"}, "an undo cannot be cancelled"),
        ({"status": "completed", "api_day": "2026-12-01"}, "no import to cancel"),
    ],
)
def test_what_can_be_cancelled(over: dict[str, Any], refusal: str | None) -> None:
    said = rules.cancel_refusal(import_row(**over))
    assert said == refusal if refusal is None else refusal in (said or "")


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("uploaded", None),
        ("queued", "cancel it instead"),
        ("processing", "cancel it instead"),
        ("completed", "it stays in the history"),
        ("previewed", "it stays in the history"),
        ("cancelled", "it stays in the history"),
    ],
)
def test_only_an_upload_never_started_can_be_deleted(status: str, refusal: str | None) -> None:
    said = rules.delete_refusal(import_row(status=status))
    assert said == refusal if refusal is None else refusal in (said or "")
