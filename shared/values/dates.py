"""Dates and date-times (SPEC §2.2): DD/MM/YYYY (or MDY), ISO 8601, Unix seconds."""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from shared.errors import InvalidValue
from shared.values.text import _show

_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_SLASH_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
# How exports write date-times besides ISO 8601: an offset or zone after a space
# ("2023-05-01 14:03:00 UTC", Shopify's "2023-05-01 14:03:00 -0400"), a slash date with a time
# ("4/15/2019 6:47 PM", "15/04/2019 18:47").
_ISO_ZONED_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?)"
    r"\s+(?:(UTC|GMT|Z)|([+-][0-9]{2}(?::?[0-9]{2})?))",
    re.IGNORECASE,
)
_SLASH_DATETIME_RE = re.compile(
    r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}),?(?:\s+|[Tt])([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?"
    r"(?:\s*([AaPp])\.?[Mm]\.?)?(?:\s+(?:UTC|GMT))?",
    re.IGNORECASE,
)
_SLASH_TIME_RE = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}(?:[Tt]|\s)+\S")
_UNIX_RE = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS_ABOVE: Final = 10**11
_SECONDS_DIGITS: Final = len(str(_MS_ABOVE)) - 1  # all-digit text this long is below _MS_ABOVE
_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SLASH_FORM: Final = {"DMY": "DD/MM/YYYY", "MDY": "MM/DD/YYYY"}


def _not_a_date(value: object, date_order: str) -> str:
    form = _SLASH_FORM.get(date_order, "DD/MM/YYYY")
    return (
        f"{_show(value)} is not a date: use {form}, "
        "ISO 8601 (2015-12-31 or 2015-12-31T23:59:00Z) or Unix seconds"
    )


def _whole_seconds(text: str) -> int | None:
    """Trimmed ``text`` as Unix seconds when it is all ASCII digits and short enough to be
    seconds, not milliseconds (below _MS_ABOVE: never out of range); else None."""
    if len(text) <= _SECONDS_DIGITS and text.isdigit() and text.isascii():
        return int(text)
    return None


def _calendar_date(year: int, month: int, day: int) -> datetime | None:
    if not 1 <= month <= 12 or year < 1 or day < 1:
        return None
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > _DAYS_IN_MONTH[month] + leap:
        return None
    return datetime(year, month, day, tzinfo=UTC)


def _from_unix(negative: bool, whole: int, fraction: str) -> datetime | None:
    # Exact integer arithmetic: '1420070400.123' must not pick up float rounding.
    if whole > _MS_ABOVE or (whole == _MS_ABOVE and fraction.strip("0")):
        micros = whole * 1000 + int((fraction + "000")[:3])
    else:
        micros = whole * 1_000_000 + int((fraction + "000000")[:6])
    try:
        return _EPOCH + timedelta(microseconds=-micros if negative else micros)
    except OverflowError:
        return None


def _unix_text(text: str, negative: bool, whole: str, fraction: str) -> datetime | str:
    """Unix time written as `text` (its sign, whole digits and fraction), or why not."""
    unix = _from_unix(negative, int(whole), fraction) if len(whole) <= 20 else None
    return unix if unix is not None else f"{_show(text)} is out of range for Unix time"


def _parse_date_text(text: str, date_order: str, numbers: bool) -> datetime | str:
    """The datetime that stripped `text` denotes, or the user-facing message of why not."""
    if numbers and text.isdigit() and text.isascii():
        # Unix seconds, the commonest number, without the patterns (no other form is all digits)
        seconds = _whole_seconds(text)
        if seconds is not None:
            return _EPOCH + timedelta(seconds=seconds)
        return _unix_text(text, False, text, "")
    m = _ISO_RE.fullmatch(text)
    if m is not None:
        if "t" in text or "z" in text:  # fromisoformat wants 'T' and 'Z'
            text = text.upper()
        try:
            if m[1] is None:  # no offset means UTC; appending is faster than dt.replace()
                return datetime.fromisoformat(text + ("+00:00" if len(text) > 10 else "T00:00Z"))
            return datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError):
            if len(text) == 10:
                return f"{_show(text)} is not a real calendar date: check the day and month"
            return f"{_show(text)} is not a real date and time: check the date, time and offset"
    m = _SLASH_RE.fullmatch(text)
    if m is not None:
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        if date_order == "DMY":
            dt_or_none, other, other_order = _calendar_date(year, b, a), (a, b), "MDY"
        elif date_order == "MDY":
            dt_or_none, other, other_order = _calendar_date(year, a, b), (b, a), "DMY"
        else:
            return f"date_order must be 'DMY' or 'MDY', not {_show(date_order)}"
        if dt_or_none is not None:
            return dt_or_none
        form = _SLASH_FORM[date_order]
        if _calendar_date(year, *other) is not None:
            return (
                f"{_show(text)} is not a valid {form} date (looks like "
                f"{_SLASH_FORM[other_order]}: set date_order to {other_order})"
            )
        return f"{_show(text)} is not a real calendar date ({form})"
    if numbers:
        m = _UNIX_RE.fullmatch(text)
        if m is not None:
            return _unix_text(text, m[1] == "-", m[2], m[3] or "")
    m = _ISO_ZONED_RE.fullmatch(text)
    if m is not None:
        return _parse_date_text(m[1] + ("Z" if m[2] else m[3]), date_order, False)
    m = _SLASH_DATETIME_RE.fullmatch(text)
    if m is not None:
        return _slash_datetime(m, text, date_order)
    if _SLASH_TIME_RE.match(text) is not None:
        form = _SLASH_FORM.get(date_order, "DD/MM/YYYY")
        return (
            f"{_show(text)} has a time after the date that is not HH:MM[:SS] (AM/PM allowed):"
            f" write it as {form} HH:MM or ISO 8601 (2015-12-31T23:59:00Z)"
        )
    return _not_a_date(text, date_order)


def _slash_datetime(m: re.Match[str], text: str, date_order: str) -> datetime | str:
    """A slash date with a time (UTC), the date read in ``date_order``."""
    day = _parse_date_text(text[: m.end(3)], date_order, False)
    if not isinstance(day, datetime):
        return day
    hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
    if m[7] is not None:  # 12-hour clock
        if not 1 <= hour <= 12:
            return f"{_show(text)} has an hour that is not on a 12-hour clock (1–12 before AM/PM)"
        hour = hour % 12 + (12 if m[7] in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return f"{_show(text)} is not a real time of day: check the hours and minutes"
    return day.replace(hour=hour, minute=minute, second=second)


def parse_datetime(raw: str | int | float, date_order: str = "DMY") -> datetime:
    """Return the aware UTC datetime that `raw` denotes (SPEC §2.2).

    Accepted: `DD/MM/YYYY` (`MM/DD/YYYY` when date_order is "MDY"; day and month may have one
    digit; midnight UTC), also followed by a time `HH:MM[:SS]` (24-hour, or 12-hour with AM/PM;
    UTC); ISO 8601 `YYYY-MM-DD` or `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` with optional `Z`, `±HH`,
    `±HH:MM` or `±HHMM` (no offset means UTC; digits beyond microseconds are truncated), the
    offset or `UTC`/`GMT` also after a space, as exports write them; Unix time in seconds as an
    int, a float or a decimal string, taken as milliseconds when its magnitude is above 10**11.
    Note that a plain number such as `20151231` is Unix seconds, not a basic-format ISO date.
    Raises InvalidValue otherwise, listing the accepted forms, or with a hint when the day and
    month look swapped.
    """
    if isinstance(raw, str):
        result = _parse_date_text(raw.strip(), date_order, True)
        if isinstance(result, datetime):
            return result
        raise InvalidValue(result)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidValue(_not_a_date(raw, date_order))
    dt: datetime | None = None
    if isinstance(raw, int):
        dt = _from_unix(raw < 0, abs(raw), "")
    elif math.isfinite(raw):
        try:
            if abs(raw) > _MS_ABOVE:
                dt = _EPOCH + timedelta(milliseconds=raw)
            else:
                dt = _EPOCH + timedelta(seconds=raw)
        except OverflowError:
            dt = None
    if dt is None:
        raise InvalidValue(f"{_show(raw)} is out of range for Unix time")
    return dt


@functools.lru_cache(maxsize=4096)  # an import's dates fall on a few thousand days at most
def _iso_day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).date().isoformat()


def iso_datetime(raw: str, date_order: str = "DMY") -> str:
    """``parse_datetime(raw, date_order).isoformat()``, with Unix seconds (the commonest
    date-time in exports, and unique per cell) formatted without making a datetime."""
    text = raw.strip()
    whole = _whole_seconds(text)
    if whole is not None:
        days, seconds = divmod(whole, 86400)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        return f"{_iso_day(days)}T{hours:02}:{minutes:02}:{seconds:02}+00:00"
    return parse_datetime(text, date_order).isoformat()


def format_datetime(dt: datetime) -> str:
    """ISO 8601 in UTC, e.g. '2015-01-01T00:00:00+00:00'; a naive `dt` is taken to be UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC).isoformat()
    return dt.astimezone(UTC).isoformat()
