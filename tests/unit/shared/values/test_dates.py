"""Tables of accepted and rejected dates (SPEC §2.2) and fuzz tests for shared.values.dates."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidValue
from shared.values import format_datetime, iso_datetime, parse_datetime
from tests.unit.shared.values._helpers import ACCEPTED_FORMS, _date_like, _date_orders, _numberish


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


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
        # as exports write them: a zone or offset after a space, a slash date with a time
        ("2023-05-01 14:03:00 UTC", "DMY", utc(2023, 5, 1, 14, 3)),
        ("2023-05-01 14:03:00 gmt", "DMY", utc(2023, 5, 1, 14, 3)),
        ("2023-05-01 14:03:00 -0400", "DMY", utc(2023, 5, 1, 18, 3)),
        ("2015-12-31T23:59:00 +01:00", "DMY", utc(2015, 12, 31, 22, 59)),
        ("2019-04-15 18:47", "DMY", utc(2019, 4, 15, 18, 47)),
        ("31/12/2015 10:00", "DMY", utc(2015, 12, 31, 10)),
        ("12/31/2015 10:00:05", "MDY", utc(2015, 12, 31, 10, 0, 5)),
        ("4/15/2019 6:47 PM", "MDY", utc(2019, 4, 15, 18, 47)),
        ("4/15/2019, 12:05 am", "MDY", utc(2019, 4, 15, 0, 5)),
        ("4/15/2019 12:05 p.m.", "MDY", utc(2019, 4, 15, 12, 5)),
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
        ("2015-12-31T23:59:00 +1", "DMY", ACCEPTED_FORMS),
        ("2015-12-31 23:59:00 CET", "DMY", ACCEPTED_FORMS),
        # a time after DD/MM/YYYY that is not HH:MM[:SS] [AM/PM]
        ("31/12/2015T10:00:00Z", "DMY", "has a time after the date that is not HH:MM"),
        ("12/31/2015 10h00", "MDY", "write it as MM/DD/YYYY HH:MM"),
        ("12/31/2015 13:00 PM", "MDY", "not on a 12-hour clock"),
        ("12/31/2015 10:61", "MDY", "not a real time of day"),
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


# ---------------------------------------------------------------- properties and fuzzing


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


@given(
    st.integers(min_value=0, max_value=10**12).map(str)
    | st.integers(min_value=0, max_value=10**11).map(lambda n: f" {n:011d} ")
    | st.text()
    | _date_like
    | _numberish,
    _date_orders,
)
def test_iso_datetime_is_the_iso_text_of_parse_datetime(raw: str, order: str) -> None:
    try:
        expected = parse_datetime(raw, order).isoformat()
    except InvalidValue as exc:
        with pytest.raises(InvalidValue, match=re.escape(str(exc))):
            iso_datetime(raw, order)
    else:
        assert iso_datetime(raw, order) == expected
