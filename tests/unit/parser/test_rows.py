"""RowValidator: one CSV row's cells -> an engine record, or every error (SPEC §2.1-2.2).

Pure: a validator is built from the file's columns, the import options and attribute types, then
called on lists of cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.parser.rows import ImportOptions, RowValidator

EMAIL_MISSING = "email is missing: every row needs an email address"


def make(
    mapping: Mapping[str, str] | None = None,
    custom: Mapping[str, tuple[str, str]] | None = None,
    extra_columns: tuple[str, ...] = (),
    **options: Any,
) -> RowValidator:
    """A validator over columns = mapped columns + custom columns + extra (unmapped) ones.

    ``custom`` maps a column to (attribute name, attribute type).
    """
    mapping = {"email": "Email", **(mapping or {})}
    custom = custom or {}
    columns = [*dict.fromkeys([*mapping.values(), *custom, *extra_columns])]
    opts = ImportOptions(
        kind=options.pop("kind", "users"),
        mapping=mapping,
        custom_attributes={column: name for column, (name, _) in custom.items()},
        **options,
    )
    return RowValidator(columns, opts, {name: type_ for name, type_ in custom.values()})


def row(validator: RowValidator, **cells: str) -> list[str]:
    """Cells in the validator's column order; columns not given are blank."""
    return [cells.get(column, "") for column in validator.columns]


def ok(validator: RowValidator, **cells: str) -> dict[str, Any]:
    record, errors = validator(row(validator, **cells))
    assert errors == []
    assert record is not None
    return record


def bad(validator: RowValidator, **cells: str) -> list[str]:
    record, errors = validator(row(validator, **cells))
    assert record is None
    assert errors
    return errors


# ---------------------------------------------------------------- standard fields

STANDARD = {
    "email-trimmed-case-kept": ("email", " Ann@Example.COM ", "Ann@Example.COM"),
    "user_id-trimmed": ("user_id", "  42 ", "42"),
    "user_id-kept-as-text": ("user_id", "007", "007"),
    "name-trimmed": ("name", "  Ann Lee  ", "Ann Lee"),
    "phone-plus": ("phone", "+44 20 7946 0958", "+442079460958"),
    "phone-00-prefix": ("phone", "0044 (20) 7946-0958", "+442079460958"),
    "phone-001": ("phone", "001 650 253 0000", "+16502530000"),
    "signed_up_at-dmy": ("signed_up_at", "31/12/2015", "2015-12-31T00:00:00+00:00"),
    "signed_up_at-iso-offset": (
        "signed_up_at",
        "2015-12-31T23:59:00+01:00",
        "2015-12-31T22:59:00+00:00",
    ),
    "signed_up_at-iso-no-offset-is-utc": (
        "signed_up_at",
        "2015-12-31 23:59",
        "2015-12-31T23:59:00+00:00",
    ),
    "last_seen_at-unix-seconds": ("last_seen_at", "1420070400", "2015-01-01T00:00:00+00:00"),
    "last_seen_at-unix-millis": ("last_seen_at", "1420070400000", "2015-01-01T00:00:00+00:00"),
    "last_seen_ip-v4": ("last_seen_ip", " 192.0.2.1 ", "192.0.2.1"),
    "last_seen_ip-v6-canonical": ("last_seen_ip", "0:0:0:0:0:0:0:1", "::1"),
    "tags-comma-separated": ("tags", "VIP, Gold ,,Beta", ["VIP", "Gold", "Beta"]),
}


@pytest.mark.parametrize(("field", "cell", "expected"), STANDARD.values(), ids=list(STANDARD))
def test_standard_field_mapping(field: str, cell: str, expected: Any) -> None:
    column = f"Column for {field}"
    validator = make({field: column})
    cells = {column: cell}
    if field != "email":
        cells["Email"] = "a@x.io"
    record = ok(validator, **cells)
    assert record[field] == expected
    assert set(record) == {"email", field}


def test_all_fields_together_in_any_column_order() -> None:
    mapping = {
        "last_seen_ip": "IP",
        "email": "E-mail Address",
        "tags": "Labels",
        "user_id": "Customer ID",
        "phone": "Tel",
        "name": "Full name",
        "signed_up_at": "Joined",
        "last_seen_at": "Seen",
    }
    validator = RowValidator(
        ["Notes", *mapping.values(), "Plan"],
        ImportOptions(kind="users", mapping=mapping, custom_attributes={"Plan": "plan"}),
        {"plan": "string"},
    )
    record, errors = validator(
        [
            "anything at all: 0, null, 31/31/2015",
            "192.0.2.1",
            "ann@x.io",
            "VIP",
            "u-1",
            "+442079460958",
            "Ann",
            "01/02/2015",
            "2015-02-01",
            "pro",
        ]
    )
    assert errors == []
    assert record == {
        "email": "ann@x.io",
        "user_id": "u-1",
        "name": "Ann",
        "phone": "+442079460958",
        "signed_up_at": "2015-02-01T00:00:00+00:00",
        "last_seen_at": "2015-02-01T00:00:00+00:00",
        "last_seen_ip": "192.0.2.1",
        "tags": ["VIP"],
        "custom": {"plan": "pro"},
    }


def test_unmapped_column_never_touches_anything() -> None:
    validator = make({"name": "Name"}, extra_columns=("Phone", "Notes"))
    record = ok(validator, Email="a@x.io", Name="Ann", Phone="not a phone", Notes="")
    assert record == {"email": "a@x.io", "name": "Ann"}


def test_validator_is_reusable_across_rows() -> None:
    validator = make({"name": "Name", "user_id": "Id"})
    assert ok(validator, Email="a@x.io", Name="A", Id="1") == {
        "email": "a@x.io",
        "name": "A",
        "user_id": "1",
    }
    assert bad(validator, Email="", Name="B", Id="null")
    assert ok(validator, Email="c@x.io", Name="C") == {"email": "c@x.io", "name": "C"}


# ---------------------------------------------------------------- blank cells

PROFILE = ("name", "phone", "signed_up_at", "last_seen_at", "last_seen_ip")


@pytest.mark.parametrize("blank", ["", "   ", "\t"], ids=["empty", "spaces", "tab"])
@pytest.mark.parametrize("field", PROFILE)
def test_blank_clear_sets_none(field: str, blank: str) -> None:
    validator = make({field: "Col"}, blank_values="clear")
    assert ok(validator, Email="a@x.io", Col=blank) == {"email": "a@x.io", field: None}


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
@pytest.mark.parametrize("field", PROFILE)
def test_blank_ignore_leaves_key_out(field: str, blank: str) -> None:
    validator = make({field: "Col"}, blank_values="ignore")
    assert ok(validator, Email="a@x.io", Col=blank) == {"email": "a@x.io"}


def test_clear_is_the_default() -> None:
    validator = make({"name": "Name"})
    assert ok(validator, Email="a@x.io") == {"email": "a@x.io", "name": None}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("clear", {"custom": {"plan": None}}), ("ignore", {})],
    ids=["clear", "ignore"],
)
def test_blank_custom_attribute(mode: str, expected: dict[str, Any]) -> None:
    validator = make(custom={"Plan": ("plan", "integer")}, blank_values=mode)
    assert ok(validator, Email="a@x.io", Plan="  ") == {"email": "a@x.io", **expected}


@pytest.mark.parametrize("mode", ["clear", "ignore"])
def test_blank_tags_add_nothing(mode: str) -> None:
    validator = make({"tags": "Tags"}, blank_values=mode)
    assert ok(validator, Email="a@x.io", Tags=" , ") == {"email": "a@x.io"}


@pytest.mark.parametrize("mode", ["clear", "ignore"])
@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_blank_user_id_means_none(mode: str, blank: str) -> None:
    validator = make({"user_id": "Id"}, blank_values=mode)
    assert ok(validator, Email="a@x.io", Id=blank) == {"email": "a@x.io"}


@pytest.mark.parametrize("mode", ["clear", "ignore"])
def test_blank_email_is_never_a_clear(mode: str) -> None:
    validator = make({"user_id": "Id"}, blank_values=mode)
    assert bad(validator, Email="  ", Id="u1") == [EMAIL_MISSING]


# ---------------------------------------------------------------- identifiers and email

PLACEHOLDERS = [
    "0",
    "-1",
    "null",
    "NULL",
    " None ",
    "undefined",
    "Anonymous",
    "GUEST",
    "NaN",
    "nan",
]


@pytest.mark.parametrize("cell", PLACEHOLDERS)
def test_placeholder_user_id_fails_the_row(cell: str) -> None:
    validator = make({"user_id": "Id"})
    errors = bad(validator, Email="a@x.io", Id=cell)
    assert len(errors) == 1
    assert errors[0].startswith(f"user_id {cell.strip()!r} is a placeholder")


@pytest.mark.parametrize("cell", ["00", "-2", "nullable", "guest1", "none-of-these", "1"])
def test_placeholder_lookalikes_are_real_ids(cell: str) -> None:
    validator = make({"user_id": "Id"})
    assert ok(validator, Email="a@x.io", Id=cell)["user_id"] == cell


def test_user_id_too_long() -> None:
    validator = make({"user_id": "Id"})
    (error,) = bad(validator, Email="a@x.io", Id="x" * 256)
    assert "user_id" in error and "at most 255" in error


@pytest.mark.parametrize("cell", ["", "   "], ids=["empty", "spaces"])
def test_email_missing(cell: str) -> None:
    assert bad(make(), Email=cell) == [EMAIL_MISSING]


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ("foo@", "'foo@' is not a valid email address"),
        ("ann.example.com", "it has no '@'"),
        ("a@x.io, b@x.io", "one address per cell"),
        ("ann@localhost", "needs a dot"),
    ],
)
def test_invalid_email(cell: str, hint: str) -> None:
    (error,) = bad(make(), Email=cell)
    assert hint in error


def test_email_not_required_needs_email_or_user_id() -> None:
    validator = make({"user_id": "Id", "name": "Name"}, email_required=False)
    assert ok(validator, Id="u1", Name="Ann") == {"user_id": "u1", "name": "Ann"}
    assert ok(validator, Email="a@x.io") == {"email": "a@x.io", "name": None}
    assert bad(validator, Name="Ann") == ["the record has neither an email nor a user_id"]


def test_every_error_of_a_row_is_reported() -> None:
    validator = make(
        {
            "user_id": "Id",
            "phone": "Phone",
            "signed_up_at": "Joined",
            "last_seen_at": "Seen",
            "last_seen_ip": "IP",
        },
        custom={"Seats": ("seats", "integer"), "Beta": ("beta", "boolean")},
    )
    errors = bad(
        validator,
        Email="not-an-email",
        Id="undefined",
        Phone="020 7946 0958",
        Joined="12/31/2015",
        Seen="yesterday",
        IP="01.2.3.4",
        Seats="many",
        Beta="perhaps",
    )
    assert len(errors) == 8, errors
    expected = [
        "'not-an-email' is not a valid email address",
        "user_id 'undefined' is a placeholder",
        "phone: '020 7946 0958' has no country calling code",
        "signed_up_at: '12/31/2015' is not a valid DD/MM/YYYY date",
        "last_seen_at: 'yesterday' is not a date",
        "last_seen_ip: '01.2.3.4' is not an IPv4 or IPv6 address",
        "custom attribute 'seats' is integer",
        "custom attribute 'beta' is boolean",
    ]
    for error, start in zip(errors, expected, strict=True):
        assert error.startswith(start), (error, start)


def test_missing_email_reported_with_the_other_errors() -> None:
    validator = make({"user_id": "Id", "last_seen_ip": "IP"})
    errors = bad(validator, Email="", Id="0", IP="nope")
    assert errors[0] == EMAIL_MISSING
    assert len(errors) == 3


# ---------------------------------------------------------------- custom attributes

COERCE = {
    "string-trimmed": ("string", "  pro plan ", "pro plan"),
    "string-number-stays-text": ("string", "007", "007"),
    "string-255": ("string", "s" * 255, "s" * 255),
    "integer": ("integer", "42", 42),
    "integer-leading-zeros": ("integer", "007", 7),
    "integer-whole-float": ("integer", "3.0", 3),
    "integer-negative": ("integer", "-5", -5),
    "integer-int64-max": ("integer", str(2**63 - 1), 2**63 - 1),
    "float": ("float", "1.5", 1.5),
    "float-exponent": ("float", "1e3", 1000.0),
    "float-integer-text": ("float", "2", 2.0),
    "boolean-yes": ("boolean", "yes", True),
    "boolean-FALSE": ("boolean", "FALSE", False),
    "boolean-1": ("boolean", "1", True),
    "boolean-0": ("boolean", "0", False),
    "date-dmy": ("date", "31/12/2015", "2015-12-31T00:00:00+00:00"),
    "date-iso-z": ("date", "2015-12-31T10:00:00Z", "2015-12-31T10:00:00+00:00"),
    "date-unix": ("date", "1420070400", "2015-01-01T00:00:00+00:00"),
}


@pytest.mark.parametrize(("type_", "cell", "expected"), COERCE.values(), ids=list(COERCE))
def test_custom_attribute_coercion(type_: str, cell: str, expected: Any) -> None:
    validator = make(custom={"Plan Level": ("plan_level", type_)})
    record = ok(validator, Email="a@x.io", **{"Plan Level": cell})
    assert record["custom"] == {"plan_level": expected}
    assert type(record["custom"]["plan_level"]) is type(expected)


COERCE_ERRORS = {
    "integer-text": ("integer", "abc", "is not a whole number"),
    "integer-fraction": ("integer", "1.5", "is not a whole number"),
    "integer-too-big": ("integer", str(2**63), "is outside the 64-bit range"),
    "float-text": ("float", "1,5", "is not a number"),
    "float-inf": ("float", "inf", "is not a number"),
    "boolean-maybe": ("boolean", "maybe", "is not true/false/yes/no/1/0"),
    "boolean-2": ("boolean", "2", "is not true/false/yes/no/1/0"),
    "date-words": ("date", "next week", "is not a date"),
    "date-mdy-under-dmy": ("date", "12/31/2015", "set date_order to MDY"),
    "date-with-odd-time-after-dmy": ("date", "31/12/2015 10h00", "is not HH:MM[:SS]"),
    "string-too-long": ("string", "s" * 256, "256 characters long"),
}


@pytest.mark.parametrize(
    ("type_", "cell", "problem"), COERCE_ERRORS.values(), ids=list(COERCE_ERRORS)
)
def test_custom_attribute_error_names_attribute_and_type(
    type_: str, cell: str, problem: str
) -> None:
    validator = make(custom={"Plan Level": ("plan_level", type_)})
    (error,) = bad(validator, Email="a@x.io", **{"Plan Level": cell})
    assert error.startswith(f"custom attribute 'plan_level' is {type_}: ")
    assert problem in error


def test_several_custom_attributes() -> None:
    validator = make(
        custom={
            "Seats": ("seats", "integer"),
            "Plan": ("plan", "string"),
            "Beta": ("beta", "boolean"),
        },
        blank_values="clear",
    )
    assert ok(validator, Email="a@x.io", Seats="3", Beta="no") == {
        "email": "a@x.io",
        "custom": {"seats": 3, "plan": None, "beta": False},
    }


# ---------------------------------------------------------------- name + name_last (MailChimp)

NAMES = {
    "both": ("Ann", "Lee", "clear", "Ann Lee"),
    "both-trimmed": ("  Ann ", " Lee  ", "clear", "Ann Lee"),
    "first-only": ("Ann", "", "clear", "Ann"),
    "last-only": ("", "Lee", "clear", "Lee"),
    "both-blank-clear": ("", " ", "clear", None),
    "first-only-ignore": ("Ann", "", "ignore", "Ann"),
    "last-only-ignore": ("", "Lee", "ignore", "Lee"),
}


@pytest.mark.parametrize(("first", "last", "mode", "expected"), NAMES.values(), ids=list(NAMES))
def test_name_and_last_name_joined(first: str, last: str, mode: str, expected: str | None) -> None:
    validator = make(
        {"email": "Email Address", "name": "First Name", "name_last": "Last Name"},
        blank_values=mode,
    )
    cells = {"Email Address": "a@x.io", "First Name": first, "Last Name": last}
    record, errors = validator(row(validator, **cells))
    assert errors == [] and record is not None
    assert record == {"email": "a@x.io", "name": expected}


def test_name_and_last_name_both_blank_ignore() -> None:
    validator = make({"name": "First Name", "name_last": "Last Name"}, blank_values="ignore")
    assert ok(validator, Email="a@x.io") == {"email": "a@x.io"}


# ---------------------------------------------------------------- tags column

TAGS = {
    "single": ("VIP", ["VIP"]),
    "comma-and-spaces": (" VIP ,Gold, Beta ", ["VIP", "Gold", "Beta"]),
    "repeats-case-insensitive-first-spelling": ("vip, VIP, Gold, gold", ["vip", "Gold"]),
    "mailchimp-quoted": ('"Customer","VIP, Gold"', ["Customer", "VIP, Gold"]),
    "mailchimp-quoted-spaces": ('"Customer", "Newsletter"', ["Customer", "Newsletter"]),
    "line-breaks": ("VIP\nGold", ["VIP", "Gold"]),
}


@pytest.mark.parametrize(("cell", "expected"), TAGS.values(), ids=list(TAGS))
def test_tags_column_split(cell: str, expected: list[str]) -> None:
    validator = make({"tags": "Tags"})
    assert ok(validator, Email="a@x.io", Tags=cell)["tags"] == expected


# ---------------------------------------------------------------- date_order and default_country

DATE_ORDER = {
    "mdy-accepts-month-first": ("MDY", "12/31/2015", "2015-12-31T00:00:00+00:00"),
    "mdy-single-digits": ("MDY", "2/1/2015", "2015-02-01T00:00:00+00:00"),
    "dmy-single-digits": ("DMY", "2/1/2015", "2015-01-02T00:00:00+00:00"),
    "mdy-iso-unchanged": ("MDY", "2015-01-02", "2015-01-02T00:00:00+00:00"),
}


@pytest.mark.parametrize(("order", "cell", "expected"), DATE_ORDER.values(), ids=list(DATE_ORDER))
def test_date_order(order: str, cell: str, expected: str) -> None:
    validator = make(
        {"signed_up_at": "Joined", "last_seen_at": "Seen"},
        custom={"Renewal": ("renewal", "date")},
        date_order=order,
    )
    record = ok(validator, Email="a@x.io", Joined=cell, Seen=cell, Renewal=cell)
    assert record["signed_up_at"] == record["last_seen_at"] == expected
    assert record["custom"] == {"renewal": expected}


def test_date_order_mdy_refuses_day_first() -> None:
    validator = make(
        {"signed_up_at": "Joined"}, custom={"Renewal": ("renewal", "date")}, date_order="MDY"
    )
    errors = bad(validator, Email="a@x.io", Joined="31/12/2015", Renewal="31/12/2015")
    assert len(errors) == 2
    assert errors[0].startswith("signed_up_at: '31/12/2015' is not a valid MM/DD/YYYY date")
    assert "set date_order to DMY" in errors[0]
    assert errors[1].startswith("custom attribute 'renewal' is date: ")


def test_date_order_default_is_dmy() -> None:
    validator = make({"signed_up_at": "Joined"})
    assert ok(validator, Email="a@x.io", Joined="01/02/2015")["signed_up_at"] == (
        "2015-02-01T00:00:00+00:00"
    )
    (error,) = bad(validator, Email="a@x.io", Joined="12/31/2015")
    assert "set date_order to MDY" in error


PHONES = {
    "national-gb": ("GB", "020 7946 0958", "+442079460958"),
    "national-lowercase-country": ("gb", "020 7946 0958", "+442079460958"),
    "national-us": ("US", "(650) 253-0000", "+16502530000"),
    "own-code-wins-over-default": ("GB", "+1 650 253 0000", "+16502530000"),
    "00-prefix-wins-over-default": ("US", "0044 20 7946 0958", "+442079460958"),
}


@pytest.mark.parametrize(("country", "cell", "expected"), PHONES.values(), ids=list(PHONES))
def test_default_country_for_phones(country: str, cell: str, expected: str) -> None:
    validator = make({"phone": "Phone"}, default_country=country)
    assert ok(validator, Email="a@x.io", Phone=cell)["phone"] == expected


def test_phone_without_country_code_and_no_default() -> None:
    validator = make({"phone": "Phone"})
    (error,) = bad(validator, Email="a@x.io", Phone="020 7946 0958")
    assert error.startswith("phone: '020 7946 0958' has no country calling code")
    assert "default_country" in error


def test_phone_invalid_for_default_country() -> None:
    validator = make({"phone": "Phone"}, default_country="GB")
    (error,) = bad(validator, Email="a@x.io", Phone="12")
    assert error.startswith("phone: ")


# ---------------------------------------------------------------- options


def test_import_options_from_json_defaults() -> None:
    options = ImportOptions.from_json({"mapping": {"email": "E"}})
    assert options == ImportOptions(
        kind="users",
        mapping={"email": "E"},
        custom_attributes={},
        blank_values="clear",
        date_order="DMY",
        default_country=None,
        email_required=True,
    )
    options = ImportOptions.from_json(
        {
            "kind": "leads",
            "mapping": {"email": "E"},
            "custom_attributes": {"P": "plan"},
            "blank_values": "ignore",
            "date_order": "MDY",
            "default_country": "GB",
        }
    )
    assert (options.kind, options.blank_values, options.date_order, options.default_country) == (
        "leads",
        "ignore",
        "MDY",
        "GB",
    )
    assert options.custom_attributes == {"P": "plan"}


# ---------------------------------------------------------------- invalid_values (SPEC §6.2)


def test_skip_value_leaves_invalid_optional_values_out_with_a_warning() -> None:
    validator = make(
        {"phone": "Phone", "signed_up_at": "Joined", "last_seen_ip": "IP"},
        {"Seats": ("seats", "integer")},
        invalid_values="skip_value",
    )
    record = ok(
        validator, Email="a@x.io", Phone="020 7946 0958", Joined="soon", IP="1.2.3", Seats="many"
    )
    assert {k: v for k, v in record.items() if k != "_warnings"} == {"email": "a@x.io"}
    warnings = record["_warnings"]
    assert len(warnings) == 4 and all(w.startswith("left out: ") for w in warnings)
    assert warnings[0].startswith("left out: phone: '020 7946 0958' has no country calling code")


def test_skip_value_still_fails_the_record_for_its_email_or_user_id() -> None:
    validator = make({"user_id": "Id", "phone": "Phone"}, invalid_values="skip_value")
    assert bad(validator, Email="nope", Phone="020 7946 0958", Id="u1")
    assert bad(validator, Email="a@x.io", Id="null")


def test_fail_record_is_the_default() -> None:
    errors = bad(make({"phone": "Phone"}), Email="a@x.io", Phone="020 7946 0958")
    assert errors[0].startswith("phone: '020 7946 0958' has no country calling code")


# ---------------------------------------------------------------- a batch, column by column

# Per column: cells the column's rule takes as they are, then the others (blank, invalid).
_CELLS = {
    "Email": (["ann@example.com", " Bo@Example.COM "], ["", "  ", "not-an-email", "é@x.example"]),
    "User": (["42", " 7 ", ""], ["null", "u\u202e1", "x" * 300]),
    "Name": (["Ann Lee", " Bo "], ["", "A\nB", "n" * 300]),
    "Last": (["Lee", " Smith "], [""]),
    "Phone": (["+14151215279", "0044 20 7946 0958"], ["", "12", "+1 415 121 5279"]),
    "Signed": (["2015-01-01", "31/12/2015", "1600000000"], ["", "31/31/2015", "99999999999"]),
    "Seen": (["1600000000", "1600000001", "2015-12-31T23:59:00+01:00"], ["", "soon"]),
    "Ip": (["10.0.0.1", "::1", "2001:db8::1"], ["01.2.3.4", ""]),
    "Tags": (["vip", "imported,batch 1", '"a, b",c'], ["", ",", "  "]),
    "Plan": (["free", " pro "], ["", "p\x00"]),
    "Seats": (["1", "007", "3.0"], ["", "many"]),
    "Mrr": (["0.1", "12"], ["", "nan?"]),
    "Beta": (["true", "no"], ["", "maybe"]),
}


@st.composite
def _row_cells(draw: st.DrawFn, columns: list[str]) -> list[str]:
    """A row of cells each rule takes, but for at most one column's (blank, invalid)."""
    spoiled = draw(st.sampled_from([None, *columns]))
    return [draw(st.sampled_from(_CELLS[c][1] if c == spoiled else _CELLS[c][0])) for c in columns]


_MAPPED = {
    "email": "Email",
    "user_id": "User",
    "name": "Name",
    "phone": "Phone",
    "signed_up_at": "Signed",
    "last_seen_at": "Seen",
    "last_seen_ip": "Ip",
    "tags": "Tags",
}
_TYPED = {
    "Plan": ("plan", "string"),
    "Seats": ("seats", "integer"),
    "Mrr": ("mrr", "float"),
    "Beta": ("beta", "boolean"),
}


def _both(validator: RowValidator, rows: list[list[str]]) -> tuple[bytes, bytes]:
    """The batch's results and the row path's, as JSON (key order counts)."""
    one = validator.batch(rows, lambda _, cells: validator(cells))
    each = [validator(cells) for cells in rows]
    return orjson.dumps(one), orjson.dumps(each)


@settings(max_examples=300, deadline=None)
@given(
    st.data(),
    st.sampled_from(["clear", "keep"]),
    st.sampled_from(["fail_record", "skip_value"]),
    st.booleans(),
    st.sampled_from(["DMY", "MDY"]),
    st.sampled_from([None, "GB"]),
    st.booleans(),
)
def test_a_batch_gives_what_each_row_gives(
    data: st.DataObject,
    blank_values: str,
    invalid_values: str,
    email_required: bool,
    date_order: str,
    country: str | None,
    last_name: bool,
) -> None:
    mapping = {**_MAPPED, **({"name_last": "Last"} if last_name else {})}
    validator = make(
        mapping,
        _TYPED,
        blank_values=blank_values,
        invalid_values=invalid_values,
        email_required=email_required,
        date_order=date_order,
        default_country=country,
    )
    # Columns drawn from few values (the memoised path) or many (the value-by-value path).
    unique = data.draw(st.booleans())
    cells = data.draw(st.lists(_row_cells(validator.columns), min_size=1, max_size=40))
    if unique:  # (each column's good cells made distinct: the column checks run on them)
        distinct = {
            "Email": "p{}@example.com",
            "User": "u{}",
            "Name": "Person {}",
            "Phone": "+1415555{:04}",
            "Seen": "16000{:05}",
            "Ip": "10.0.{}.1",
        }
        for i, row_cells in enumerate(cells):
            for column, form in distinct.items():
                at = validator.columns.index(column)
                if column == "Email" or row_cells[at] in _CELLS[column][0]:
                    row_cells[at] = form.format(i)
    batch, each = _both(validator, cells)
    assert batch == each


def test_a_batch_of_good_rows_is_put_together_column_by_column() -> None:
    validator = make(_MAPPED, _TYPED)
    rows = [row(validator, **{c: _CELLS[c][0][0] for c in validator.columns}) for _ in range(10)]
    calls: list[int] = []

    def one(i: int, cells: Any) -> Any:
        calls.append(i)
        return validator(cells)

    assert validator.batch(rows, one) == [validator(cells) for cells in rows]
    assert calls == []  # no row needed the row path
    rows[3][0] = "not-an-email"
    assert validator.batch(rows, one)[3] == validator(rows[3])
    assert calls == [3]
