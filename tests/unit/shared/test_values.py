"""Tables of accepted and rejected values (SPEC §2.1, §2.2) and fuzz tests for shared.values."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidValue
from shared.values import (
    ATTRIBUTE_TYPES,
    PLACEHOLDER_IDS,
    STANDARD_FIELDS,
    check_attribute_name,
    coerce,
    email_key,
    format_datetime,
    infer_type,
    normalize_event_name,
    normalize_name,
    parse_datetime,
    parse_email,
    parse_identifier,
    parse_ip,
    parse_phone,
    parse_tag,
    split_tags,
    storable,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# ---------------------------------------------------------------- emails


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee@Example.COM \t", "Ann.Lee@Example.COM"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("x_y-z@my-domain.io", "x_y-z@my-domain.io"),
        ("josé@exämple.de", "josé@exämple.de"),
        ("a@xn--bcher-kva.ch", "a@xn--bcher-kva.ch"),
        ("a@b.co", "a@b.co"),
    ],
)
def test_parse_email_accepts(raw: str, expected: str) -> None:
    assert parse_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("foo@", "'foo@' is not a valid email address"),
        ("", "blank"),
        ("   ", "blank"),
        ("foo", "has no '@'"),
        ("@example.com", "not a valid email address"),
        ("foo@bar", "needs a dot"),
        ("foo bar@example.com", "without spaces"),
        ("a@example.com, b@example.com", "one address per cell"),
        ("a@@example.com", "not a valid email address"),
        ("a..b@example.com", "not a valid email address"),
        (".a@example.com", "not a valid email address"),
        ("a.@example.com", "not a valid email address"),
        ("a@-example.com", "not a valid email address"),
        ("a@example-.com", "not a valid email address"),
        ("a@example..com", "not a valid email address"),
        ("a@example.c", "not a valid email address"),
        ("a@example.123", "not a valid email address"),
        ("a@1.2.3.4", "not a valid email address"),
        ('"a"@example.com', "not a valid email address"),
        ("a<b>@example.com", "not a valid email address"),
        ("a\x00@example.com", "not a valid email address"),
        ("x" * 65 + "@example.com", "not a valid email address"),
        ("x@" + "a" * 250 + ".com", "at most 254"),
    ],
)
def test_parse_email_rejects(raw: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_email(raw)


def test_email_key_trims_and_lowercases() -> None:
    assert email_key("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    assert email_key(parse_email("BOB@x.io")) == email_key("bob@X.IO")


# ---------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("u-123", "u-123"),
        ("  42 ", "42"),
        ("", None),
        ("   ", None),
        ("00", "00"),
        ("nulls", "nulls"),
    ],
)
def test_parse_identifier_accepts(raw: str, expected: str | None) -> None:
    assert parse_identifier(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["0", "-1", "null", "NULL", " Null ", "none", "None", "undefined", "UNDEFINED", "anonymous",
     "Anonymous", "guest", "GUEST", "nan", "NaN", "\tnull\n"],
)  # fmt: skip
def test_parse_identifier_rejects_placeholders(raw: str) -> None:
    with pytest.raises(InvalidValue, match="is a placeholder, not a real id") as info:
        parse_identifier(raw)
    assert repr(raw.strip()) in str(info.value)


def test_placeholder_message_names_the_field() -> None:
    with pytest.raises(InvalidValue) as info:
        parse_identifier("null")
    assert str(info.value) == (
        "user_id 'null' is a placeholder, not a real id: leave the cell blank or give the real id"
    )
    with pytest.raises(InvalidValue, match=r"^email 'guest'"):
        parse_identifier("guest", field="email")


def test_parse_identifier_length() -> None:
    assert parse_identifier("x" * 255) == "x" * 255
    with pytest.raises(InvalidValue, match="256 characters long: at most 255"):
        parse_identifier("x" * 256)


def test_placeholder_set() -> None:
    assert {"0", "-1", "null", "none", "undefined", "anonymous", "guest", "nan"} == PLACEHOLDER_IDS


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "order", "expected"),
    [
        # DD/MM/YYYY, and MM/DD/YYYY under MDY
        ("31/12/2015", "DMY", utc(2015, 12, 31)),
        ("01/02/2015", "DMY", utc(2015, 2, 1)),
        ("1/2/2015", "DMY", utc(2015, 2, 1)),
        ("01/02/2015", "MDY", utc(2015, 1, 2)),
        ("12/31/2015", "MDY", utc(2015, 12, 31)),
        (" 29/02/2016 ", "DMY", utc(2016, 2, 29)),
        ("29/02/2000", "DMY", utc(2000, 2, 29)),
        # ISO 8601 dates and date-times; no offset means UTC
        ("2015-12-31", "DMY", utc(2015, 12, 31)),
        ("2015-12-31", "MDY", utc(2015, 12, 31)),
        ("2015-12-31T23:59:00Z", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2015-12-31T23:59Z", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2015-12-31t23:59:00z", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2015-12-31t23:59", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2015-12-31 23:59z", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2015-12-31T23:59:00", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2015-12-31T23:59", "DMY", utc(2015, 12, 31, 23, 59)),
        ("2023-01-05 14:03:22", "DMY", utc(2023, 1, 5, 14, 3, 22)),
        ("2015-12-31T23:59:00+05:30", "DMY", utc(2015, 12, 31, 18, 29)),
        ("2015-12-31T23:59:00+0530", "DMY", utc(2015, 12, 31, 18, 29)),
        ("2015-12-31T23:59:00-02", "DMY", utc(2016, 1, 1, 1, 59)),
        ("2016-01-01T00:30:00+01:00", "DMY", utc(2015, 12, 31, 23, 30)),
        ("2015-12-31T23:59:00.5Z", "DMY", utc(2015, 12, 31, 23, 59, 0, 500000)),
        ("2015-12-31T23:59:00.123456789Z", "DMY", utc(2015, 12, 31, 23, 59, 0, 123456)),
        ("2015-12-31T23:59:00,25", "DMY", utc(2015, 12, 31, 23, 59, 0, 250000)),
        # Unix seconds; above 10**11 it is milliseconds
        ("0", "DMY", utc(1970, 1, 1)),
        ("1420070400", "DMY", utc(2015, 1, 1)),
        ("1420070400.25", "DMY", utc(2015, 1, 1, 0, 0, 0, 250000)),
        ("-86400", "DMY", utc(1969, 12, 31)),
        ("1420070400000", "DMY", utc(2015, 1, 1)),
        ("1420070400123", "DMY", utc(2015, 1, 1, 0, 0, 0, 123000)),
        ("100000000000", "DMY", utc(5138, 11, 16, 9, 46, 40)),
        ("100000000001", "DMY", utc(1973, 3, 3, 9, 46, 40, 1000)),
        (1420070400, "DMY", utc(2015, 1, 1)),
        (1420070400.5, "DMY", utc(2015, 1, 1, 0, 0, 0, 500000)),
        (1420070400000, "DMY", utc(2015, 1, 1)),
        (10**11, "DMY", utc(5138, 11, 16, 9, 46, 40)),
        (10**11 + 1, "DMY", utc(1973, 3, 3, 9, 46, 40, 1000)),
        (1e11 + 1, "DMY", utc(1973, 3, 3, 9, 46, 40, 1000)),
    ],
)
def test_parse_datetime_accepts(raw: str | int | float, order: str, expected: datetime) -> None:
    result = parse_datetime(raw, order)
    assert result == expected
    assert result.tzinfo is UTC


ACCEPTED_FORMS = re.escape(
    "use DD/MM/YYYY, ISO 8601 (2015-12-31 or 2015-12-31T23:59:00Z) or Unix seconds"
)


@pytest.mark.parametrize(
    ("raw", "order", "message"),
    [
        ("31-12-2015", "DMY", f"'31-12-2015' is not a date: {ACCEPTED_FORMS}"),
        ("31.12.2015", "DMY", ACCEPTED_FORMS),
        ("2015/12/31", "DMY", ACCEPTED_FORMS),
        ("31/12/15", "DMY", ACCEPTED_FORMS),
        ("Dec 31, 2015", "DMY", ACCEPTED_FORMS),
        ("yesterday", "DMY", ACCEPTED_FORMS),
        ("", "DMY", ACCEPTED_FORMS),
        ("2015-12-31T23", "DMY", ACCEPTED_FORMS),
        ("2015-12-31Z", "DMY", ACCEPTED_FORMS),
        ("1e9", "DMY", ACCEPTED_FORMS),
        ("31-12-2015", "MDY", "use MM/DD/YYYY, ISO 8601"),
        ("2015-12-31T23:59:00 +01:00", "DMY", ACCEPTED_FORMS),
        # a time after DD/MM/YYYY
        ("31/12/2015 10:00", "DMY", "has a time after the date, but DD/MM/YYYY takes a date only"),
        ("31/12/2015T10:00:00Z", "DMY", "has a time after the date"),
        ("12/31/2015 10:00", "MDY", "but MM/DD/YYYY takes a date only"),
        # MM/DD/YYYY only with date_order MDY, with a hint either way
        ("12/31/2015", "DMY", r"\(looks like MM/DD/YYYY: set date_order to MDY\)"),
        ("31/12/2015", "MDY", r"\(looks like DD/MM/YYYY: set date_order to DMY\)"),
        # not real calendar dates
        ("31/02/2015", "DMY", r"'31/02/2015' is not a real calendar date \(DD/MM/YYYY\)"),
        ("29/02/2015", "DMY", "not a real calendar date"),
        ("29/02/1900", "DMY", "not a real calendar date"),
        ("00/01/2015", "DMY", "not a real calendar date"),
        ("13/13/2015", "DMY", "not a real calendar date"),
        ("01/01/0000", "DMY", "not a real calendar date"),
        ("2015-02-30", "DMY", "'2015-02-30' is not a real calendar date"),
        ("2015-13-01", "DMY", "not a real calendar date"),
        ("0000-01-01", "DMY", "not a real calendar date"),
        ("2015-12-31T24:00:00", "DMY", "not a real date and time"),
        ("2015-12-31T23:60", "DMY", "not a real date and time"),
        ("2015-12-31T23:59:60Z", "DMY", "not a real date and time"),
        ("2015-12-31T23:59:00+24:00", "DMY", "not a real date and time"),
        ("0001-01-01T00:00:00+01:00", "DMY", "not a real date and time"),
        # Unix time out of range
        ("99999999999999999", "DMY", "out of range for Unix time"),
        ("9" * 40, "DMY", "out of range for Unix time"),
        (10**20, "DMY", "out of range for Unix time"),
        (-(10**20), "DMY", "out of range for Unix time"),
        (1e300, "DMY", "out of range for Unix time"),
        (math.nan, "DMY", "out of range for Unix time"),
        (math.inf, "DMY", "out of range for Unix time"),
        (True, "DMY", "is not a date"),
        ("31/12/2015", "YMD", "date_order must be 'DMY' or 'MDY'"),
    ],
)
def test_parse_datetime_rejects(raw: str | int | float, order: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_datetime(raw, order)


def test_ambiguous_slash_dates_follow_date_order() -> None:
    assert parse_datetime("03/04/2015") == utc(2015, 4, 3)
    assert parse_datetime("03/04/2015", "MDY") == utc(2015, 3, 4)


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (utc(2015, 1, 1), "2015-01-01T00:00:00+00:00"),
        (datetime(2015, 1, 1, 1, tzinfo=UTC).astimezone(), "2015-01-01T01:00:00+00:00"),
        (datetime(2015, 1, 1, 5, 30), "2015-01-01T05:30:00+00:00"),
        (utc(2015, 1, 1, 0, 0, 0, 123000), "2015-01-01T00:00:00.123000+00:00"),
    ],
)
def test_format_datetime(dt: datetime, expected: str) -> None:
    assert format_datetime(dt) == expected


# ---------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+442079460958", None, "+442079460958"),
        ("  +44 (0)20 7946-0958 ", None, "+442079460958"),
        ("(+44) 20 7946 0958", None, "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("001 212 555 0100", None, "+12125550100"),
        ("+1 (212) 555-0100", None, "+12125550100"),
        ("+1.212.555.0100", None, "+12125550100"),
        ("+39 06 1234 5678", None, "+390612345678"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("+1 212 555 0100 ext. 12", None, "+12125550100"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("06 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_parse_phone_accepts(raw: str, country: str | None, expected: str) -> None:
    assert parse_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "message"),
    [
        (
            "020 7946 0958",
            None,
            r"^'020 7946 0958' has no country calling code: write it as \+44…",
        ),
        ("2125550100", None, "has no country calling code"),
        ("2125550100", "", "has no country calling code"),
        ("", None, "blank"),
        ("  ", "GB", "blank"),
        ("call me", None, "is not a phone number"),
        ("+", None, "not a phone number"),
        ("+999 1234 5678", None, "has no known country calling code"),
        ("+0 1234 5678", None, "not a phone number|no known country calling code"),
        ("+44 12", None, "too short"),
        ("+1 555 1234", None, "is a local number: add its area code"),
        ("+44 20 7946 0958 1234 5678", None, "too long"),
        ("0044", None, "too short|not a phone number"),
        ("020 7946 0958", "XX", "default_country 'XX' is not an ISO 3166 alpha-2 code"),
        ("020 7946 0958", "GBR", "not an ISO 3166 alpha-2 code"),
        ("1", "GB", "not a phone number|too short"),
    ],
)
def test_parse_phone_rejects(raw: str, country: str | None, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_phone(raw, country)


def _reference_e164(text: str) -> str | None:
    """phonenumbers' own answer for an international number: E.164, or None when refused."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != 0:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=1500)
@given(
    code=st.sampled_from(_COUNTRY_CODES),
    rest=st.from_regex(r"[0-9 ().-]{0,18}", fullmatch=True),
    intl=st.sampled_from(["+", "00"]),
)
@example(code=44, rest="020 7946 0958", intl="+")
@example(code=39, rest="06 1234 5678", intl="+")
@example(code=39, rest="0000", intl="+")
@example(code=7, rest="8 912 345 6789", intl="+")
@example(code=1, rest="1 212 555 0100", intl="00")
def test_parse_phone_matches_phonenumbers_for_international_numbers(
    code: int, rest: str, intl: str
) -> None:
    # parse_phone has a fast path for '+<digits>'; it must agree with the library on every input.
    expected = _reference_e164(f"+{code}{rest}")
    if expected is None:
        with pytest.raises(InvalidValue):
            parse_phone(f"{intl}{code}{rest}")
    else:
        assert parse_phone(f"{intl}{code}{rest}") == expected


# ---------------------------------------------------------------- custom attributes


@pytest.mark.parametrize(
    "name", ["plan", "Plan Level", "x", "a" * 190, "créé_le", "user id", "emails", "tag", "e-mail"]
)
def test_check_attribute_name_accepts(name: str) -> None:
    assert check_attribute_name(name) == []


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("", ["empty"]),
        ("a" * 191, ["191 characters long: at most 190"]),
        ("plan.level", ["contains '.'"]),
        ("$plan", ["contains '$'"]),
        ("a.b$", ["contains '.'", "contains '$'"]),
        ("plan\tlevel", ["control character"]),
        ("plan\x7f", ["control character"]),
        (" plan", ["starts or ends with a space"]),
        ("plan ", ["starts or ends with a space"]),
        ("email", ["standard field"]),
        ("User_ID", ["standard field"]),
        ("custom_attributes", ["standard field"]),
        (" Email", ["starts or ends with a space", "standard field"]),
        (" a.b\n" + "x" * 190, ["190", "contains '.'", "control", "space"]),
    ],
)
def test_check_attribute_name_rejects(name: str, fragments: list[str]) -> None:
    problems = check_attribute_name(name)
    assert len(problems) == len(fragments)
    for problem, fragment in zip(problems, fragments, strict=True):
        assert fragment in problem


def test_standard_field_names_are_all_refused() -> None:
    assert len(STANDARD_FIELDS) == 13
    for field in STANDARD_FIELDS:
        assert check_attribute_name(field) != []
        assert check_attribute_name(field.upper()) != []


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (["1", "2", "-3", "+4", "0"], "integer"),
        (["1", "", "  ", "2"], "integer"),
        (["9223372036854775807", "-9223372036854775808"], "integer"),
        (["9223372036854775808"], "string"),
        (["12345678901234567890"], "string"),
        (["007", "008"], "string"),
        (["1", "2.5"], "float"),
        (["1.5", "-0.25", "1e3", ".5"], "float"),
        (["1e999"], "string"),
        (["nan"], "string"),
        (["inf", "1.0"], "string"),
        (["1,5"], "string"),
        (["true", "False", "YES", "no"], "boolean"),
        (["yes", "1"], "string"),
        (["1", "0"], "integer"),
        (["2015-12-31", "31/12/2015", "2015-12-31T23:59:00Z"], "date"),
        (["2023-01-05 14:03:22"], "date"),
        (["31/12/2015", "1420070400"], "string"),
        (["1420070400"], "integer"),
        (["12/31/2015"], "string"),
        (["31/02/2015"], "string"),
        (["2015-12-31", "soon"], "string"),
        (["pro", "free"], "string"),
        ([], "string"),
        (["", "   "], "string"),
        ([None, 3, 4], "integer"),
        ([3, 4.5], "float"),
        ([True, "no"], "boolean"),
        ([True, 1], "string"),
    ],
)
def test_infer_type(samples: list[str | int | float | bool | None], expected: str) -> None:
    assert infer_type(samples) == expected


def test_infer_type_dates_follow_date_order() -> None:
    assert infer_type(["12/31/2015", "01/02/2015"], "MDY") == "date"
    assert infer_type(["31/12/2015"], "MDY") == "string"


def test_infer_type_reads_a_generator_once() -> None:
    assert infer_type(str(i) for i in range(1000)) == "integer"


@pytest.mark.parametrize(
    ("raw", "type_", "expected"),
    [
        ("42", "integer", 42),
        (" -42 ", "integer", -42),
        ("+7", "integer", 7),
        ("007", "integer", 7),
        ("3.0", "integer", 3),
        ("0", "integer", 0),
        (42, "integer", 42),
        (42.0, "integer", 42),
        ("9223372036854775807", "integer", 2**63 - 1),
        ("1.5", "float", 1.5),
        ("2", "float", 2.0),
        ("-1e3", "float", -1000.0),
        (".5", "float", 0.5),
        (3, "float", 3.0),
        (2.25, "float", 2.25),
        ("true", "boolean", True),
        ("Yes", "boolean", True),
        ("1", "boolean", True),
        ("FALSE", "boolean", False),
        ("no", "boolean", False),
        ("0", "boolean", False),
        (True, "boolean", True),
        (0, "boolean", False),
        ("31/12/2015", "date", "2015-12-31T00:00:00+00:00"),
        ("2015-12-31T23:59:00+01:00", "date", "2015-12-31T22:59:00+00:00"),
        ("1420070400", "date", "2015-01-01T00:00:00+00:00"),
        (1420070400000, "date", "2015-01-01T00:00:00+00:00"),
        ("pro", "string", "pro"),
        ("  pro plan ", "string", "pro plan"),
        ("x" * 255, "string", "x" * 255),
        (12, "string", "12"),
        (1.5, "string", "1.5"),
        (True, "string", "true"),
        ("", "string", ""),
    ],
)
def test_coerce_accepts(
    raw: str | int | float | bool, type_: str, expected: str | int | float | bool
) -> None:
    result = coerce(raw, type_, "attr")
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("raw", "type_", "message"),
    [
        ("abc", "integer", "custom attribute 'plan_level' is integer: 'abc' is not a whole number"),
        ("1.5", "integer", "is integer: '1.5' is not a whole number"),
        ("1e3", "integer", "not a whole number"),
        ("", "integer", "not a whole number"),
        ("9223372036854775808", "integer", "outside the 64-bit range"),
        (True, "integer", "not a whole number"),
        (1.5, "integer", "not a whole number"),
        (math.inf, "integer", "not a whole number"),
        ("abc", "float", "is float: 'abc' is not a number"),
        ("nan", "float", "not a number"),
        ("inf", "float", "not a number"),
        ("1e999", "float", "not a number"),
        ("1,5", "float", "not a number"),
        (math.nan, "float", "not a number"),
        (10**400, "float", "not a number"),
        (False, "float", "not a number"),
        ("maybe", "boolean", "is boolean: 'maybe' is not true/false/yes/no/1/0"),
        (2, "boolean", "not true/false"),
        ("", "boolean", "not true/false"),
        ("31-12-2015", "date", f"is date: '31-12-2015' is not a date: {ACCEPTED_FORMS}"),
        ("12/31/2015", "date", "set date_order to MDY"),
        ("31/12/2015 10:00", "date", "has a time after the date"),
        (True, "date", "is not a date"),
        ("x" * 256, "string", "is string: the value is 256 characters long, at most 255"),
    ],
)
def test_coerce_rejects(raw: str | int | float | bool, type_: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        coerce(raw, type_, "plan_level")


def test_coerce_dates_follow_date_order() -> None:
    assert coerce("12/31/2015", "date", "d", "MDY") == "2015-12-31T00:00:00+00:00"


def test_coerce_unknown_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown attribute type"):
        coerce("1", "decimal", "x")


# ---------------------------------------------------------------- other standard fields


def test_normalize_name() -> None:
    assert normalize_name("  Ann Lee ") == "Ann Lee"
    assert normalize_name("   ") == ""
    assert normalize_name("x" * 255) == "x" * 255
    with pytest.raises(InvalidValue, match="at most 255"):
        normalize_name("x" * 256)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 10.0.0.255 ", "10.0.0.255"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::1", "::1"),
    ],
)
def test_parse_ip_accepts(raw: str, expected: str) -> None:
    assert parse_ip(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "256.1.1.1", "1.2.3", "01.2.3.4", "localhost", "1.2.3.4/24", "2001:db8::g"]
)
def test_parse_ip_rejects(raw: str) -> None:
    with pytest.raises(InvalidValue, match="is not an IPv4 or IPv6 address"):
        parse_ip(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Signed Up", "signed up"),
        (" Purchase.Completed ", "purchase-completed"),
        ("$pageview", "-pageview"),
        ("a.b$c", "a-b-c"),
    ],
)
def test_normalize_event_name(raw: str, expected: str) -> None:
    assert normalize_event_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "x" * 256])
def test_normalize_event_name_rejects(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalize_event_name(raw)


# ---------------------------------------------------------------- properties and fuzzing

_date_orders = st.sampled_from(["DMY", "MDY"])
_date_like = st.from_regex(
    r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}([T ][0-9:.,]{0,15}([Zz]|[+-][0-9:]{0,5})?)?",
    fullmatch=True,
)
_numberish = st.from_regex(
    r"[+-]?[0-9]{0,25}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,4})?", fullmatch=True
)
_phoneish = st.from_regex(r"[ +(]{0,2}(00)?[0-9 ().x#-]{0,25}", fullmatch=True)


@given(st.text() | _date_like | _numberish, _date_orders)
def test_parse_datetime_never_fails_unexpectedly(raw: str, order: str) -> None:
    try:
        result = parse_datetime(raw, order)
    except InvalidValue as e:
        assert str(e)
    else:
        assert result.tzinfo is UTC


@given(st.integers() | st.floats(), _date_orders)
def test_parse_datetime_numbers_never_fail_unexpectedly(raw: int | float, order: str) -> None:
    try:
        result = parse_datetime(raw, order)
    except InvalidValue:
        return
    assert result.tzinfo is UTC


@given(
    st.datetimes(
        timezones=st.just(UTC), min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)
    )
)
def test_format_then_parse_is_identity(dt: datetime) -> None:
    assert parse_datetime(format_datetime(dt)) == dt


@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    st.sampled_from(["T", "t", " "]),
    st.sampled_from(["Z", "z", "", "+HH:MM", "+HHMM", "+HH"]),
)
def test_iso_variants_parse_to_the_same_instant(
    local: datetime, offset_minutes: int, separator: str, style: str
) -> None:
    if style in ("Z", "z", ""):
        offset_minutes = 0
    elif style == "+HH":
        offset_minutes = int(offset_minutes / 60) * 60
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    suffix = {
        "+HH:MM": f"{sign}{hh:02d}:{mm:02d}",
        "+HHMM": f"{sign}{hh:02d}{mm:02d}",
        "+HH": f"{sign}{hh:02d}",
    }.get(style, style)
    fraction = f".{local.microsecond:06d}" if local.microsecond else ""
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    text = f"{day}{separator}{local:%H:%M:%S}{fraction}{suffix}"
    expected = local.replace(tzinfo=UTC) - timedelta(minutes=offset_minutes)
    assert parse_datetime(text) == expected


@given(st.integers(min_value=-62_135_596_800, max_value=10**11))  # 0001-01-01 to 5138
def test_unix_seconds_as_text_int_and_float_agree(seconds: int) -> None:
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert parse_datetime(str(seconds)) == parse_datetime(seconds) == expected


@given(st.dates(), st.booleans())
def test_slash_dates_in_either_order(day: date, pad: bool) -> None:
    d, m, y = (f"{day.day:02d}", f"{day.month:02d}", f"{day.year:04d}")
    if not pad:
        d, m = d.lstrip("0"), m.lstrip("0")
    expected = utc(day.year, day.month, day.day)
    assert parse_datetime(f"{d}/{m}/{y}") == expected
    assert parse_datetime(f"{m}/{d}/{y}", "MDY") == expected


@given(st.text() | _phoneish, st.sampled_from([None, "GB", "us", "FR", "XX", ""]))
def test_parse_phone_never_fails_unexpectedly(raw: str, country: str | None) -> None:
    try:
        result = parse_phone(raw, country)
    except InvalidValue as e:
        assert str(e)
    else:
        assert result.startswith("+")
        assert result[1:].isdigit()
        # A real number's E.164 form parses back to itself. (For junk such as '+49000000' the
        # library strips a national prefix '0' each time, so that is not asserted.)
        if phonenumbers.is_valid_number(phonenumbers.parse(result)):
            assert parse_phone(result) == result


@given(st.text() | st.emails())
def test_parse_email_never_fails_unexpectedly(raw: str) -> None:
    try:
        result = parse_email(raw)
    except InvalidValue as e:
        assert str(e)
    else:
        assert result == raw.strip()
        assert parse_email(result) == result
        assert email_key(result) == result.lower()


@given(st.emails())
def test_parse_email_accepts_ordinary_addresses(raw: str) -> None:
    local, _, domain = raw.rpartition("@")
    if len(raw) <= 254 and len(local) <= 64 and not domain.rpartition(".")[2].isdigit():
        assert parse_email(raw) == raw


@given(st.text(), st.text(min_size=1, max_size=20))
def test_parse_identifier_never_fails_unexpectedly(raw: str, field: str) -> None:
    try:
        result = parse_identifier(raw, field)
    except InvalidValue as e:
        assert str(e).startswith(field)
    else:
        assert result is None or (result == raw.strip() and 0 < len(result) <= 255)


@given(st.text())
def test_text_parsers_never_fail_unexpectedly(raw: str) -> None:
    for parse in (normalize_name, parse_ip, normalize_event_name):
        try:
            parse(raw)
        except InvalidValue as e:
            assert str(e)
    assert isinstance(check_attribute_name(raw), list)


@given(st.lists(st.text(max_size=30) | _date_like | _numberish | st.sampled_from(["yes", "No"])))
def test_infer_type_result_always_coerces(samples: list[str]) -> None:
    type_ = infer_type(samples)
    assert type_ in ATTRIBUTE_TYPES
    for sample in samples:
        # A value PostgreSQL cannot store (NUL) fails its row before inference sees it.
        if sample.strip() and len(sample.strip()) <= 255 and storable(sample) == sample:
            coerce(sample, type_, "attr")  # what inference chose must accept every sample


@given(
    st.text() | _numberish | _date_like | st.integers() | st.floats() | st.booleans(),
    st.sampled_from(ATTRIBUTE_TYPES),
    _date_orders,
)
def test_coerce_never_fails_unexpectedly(
    raw: str | int | float | bool, type_: str, order: str
) -> None:
    try:
        result = coerce(raw, type_, "attr", order)
    except InvalidValue as e:
        assert str(e).startswith(f"custom attribute 'attr' is {type_}: ")
        return
    expected_type = {"string": str, "integer": int, "float": float, "boolean": bool, "date": str}
    assert type(result) is expected_type[type_]
    if isinstance(result, float):
        assert math.isfinite(result)


# ---------------------------------------------------------------- text that cannot be stored


@pytest.mark.parametrize(
    ("parse", "raw", "message"),
    [
        (normalize_name, "Ann\nSmith", "contains a line break"),
        (normalize_name, "Ann\rSmith", "contains a line break"),
        (normalize_name, "Ann\tSmith", "contains a tab"),
        (normalize_name, "bad\x00name", "contains a NUL character"),
        (normalize_name, "Admin\u202egnp.exe", "text-direction control (U+202E)"),
        (normalize_name, "x\u2066y", "text-direction control (U+2066)"),
        (normalize_name, "x\x85y", "control character (U+0085)"),
        (normalize_name, "x\ud800y", "lone surrogate"),
        (parse_tag, "VIP\nGold", "contains a line break"),
        (parse_tag, "t\x00g", "contains a NUL character"),
        (parse_tag, "x" * 256, "at most 255"),
        (lambda raw: parse_identifier(raw, "user_id"), "u\x00", "contains a NUL character"),
        (lambda raw: parse_identifier(raw, "user_id"), "u\n1", "contains a line break"),
        (normalize_event_name, "signed\x00up", "contains a NUL character"),
    ],
)
def test_labels_refuse_control_and_direction_characters(parse, raw: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape(message)):
        parse(raw)


@pytest.mark.parametrize(
    "name", ["Zoë Ünal", "李小龍", "👨‍👩‍👧 family", "O\u2019Brien", "שלום", "Ana\u00a0María"]
)
def test_labels_keep_real_names(name: str) -> None:
    assert normalize_name(name) == name  # joiners (emoji, Indic scripts) and NBSP are text


@pytest.mark.parametrize(
    "email", ["zw\u200b@a.example", "a\u200d@b.example", "x\ufeff@b.example", "rl\u202e@b.example"]
)
def test_emails_refuse_invisible_characters(email: str) -> None:
    with pytest.raises(InvalidValue, match=r"invisible formatting character|text-direction"):
        parse_email(email)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("a\x00b", "NUL character"), ("\ud800", "lone surrogate"), ("x\uffff", "U+FFFF")],
)
def test_string_attributes_refuse_what_cannot_be_stored(raw: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape(message)):
        coerce(raw, "string", "note")
    assert "\ufffd" in storable(raw)


def test_string_attributes_keep_line_breaks() -> None:
    assert coerce("line one\nline two", "string", "note") == "line one\nline two"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**40, "1" * 25])
def test_integers_beyond_64_bits_are_errors_not_floats(value: int | str) -> None:
    with pytest.raises(InvalidValue, match="outside the 64-bit range"):
        coerce(value, "integer", "n")


# ---------------------------------------------------------------- tag cells


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", []),
        ("   ", []),
        ("VIP", ["VIP"]),
        ("VIP, Gold ,, beta", ["VIP", "Gold", "beta"]),
        ('"Customer","VIP, Gold"', ["Customer", "VIP, Gold"]),
        ('"Customer", "VIP, Gold", "customer"', ["Customer", "VIP, Gold"]),
        ('"Say ""hi""",plain', ['Say "hi"', "plain"]),
        ("vip,VIP,Vip,gold", ["vip", "gold"]),
        ("a\nb\r\nc", ["a", "b", "c"]),
    ],
)
def test_split_tags(cell: str, expected: list[str]) -> None:
    assert split_tags(cell) == expected
