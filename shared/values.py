"""Parsing and checking of person values (SPEC §2.1 identifiers, §2.2 values).

Pure functions over plain values, on the hot path of every import: no I/O, no project imports.
Every parser either returns the normalised value or raises `InvalidValue`, whose message is shown
to the user as is (it quotes the offending value, shortened, and says what to fix). Callers deal
with blank cells before calling, except `parse_identifier`, which maps blank to None.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberFormat, ValidationResult

from shared import fields
from shared.errors import InvalidValue

PLACEHOLDER_IDS: Final = frozenset(
    {"0", "-1", "null", "none", "undefined", "anonymous", "guest", "nan"}
)
STANDARD_FIELDS: Final = fields.NAMES  # reserved: a custom attribute cannot be called so
ATTRIBUTE_TYPES: Final = ("string", "integer", "float", "boolean", "date")
DATE_ORDERS: Final = ("DMY", "MDY")
MAX_STRING: Final = 255
MAX_ATTRIBUTE_NAME: Final = 190
INT64_MAX: Final = 2**63 - 1


# ---------------------------------------------------------------- text

# What no stored text may hold: NUL (PostgreSQL text cannot), lone surrogates (not encodable as
# UTF-8) and the two noncharacters that mark byte-order mistakes.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff\ufffe\uffff]")
# What a name, tag or identifier may not hold besides: C0 and C1 controls (line breaks and tabs
# among them: a name lands in email headers) and the bidirectional embeddings, overrides and
# isolates that make "Admin\u202egnp.exe" display as "Adminexe.png".
_LABEL_BAD_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
# An email may not hold any invisible format character either (zero-width space, joiners,
# direction marks, the BOM): "zw\u200b@a.example" looks like another person's address.
_EMAIL_BAD_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
    "\ud800-\udfff\ufffe\uffff]"
)
_BAD_NAMES: Final = {
    "\x00": "a NUL character",
    "\n": "a line break",
    "\r": "a line break",
    "\t": "a tab",
}


def _describe(ch: str) -> str:
    """How a refused character is named in a message: 'a line break', 'U+202E'."""
    named = _BAD_NAMES.get(ch)
    if named is not None:
        return named
    if "\ud800" <= ch <= "\udfff":
        return "an invalid character (a lone surrogate)"
    if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
        return f"a control character (U+{ord(ch):04X})"
    if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
        return f"a text-direction control (U+{ord(ch):04X})"
    return f"an invisible formatting character (U+{ord(ch):04X})"


def check_text(value: str, what: str) -> str:
    """Return `value` if it can be stored as text; InvalidValue naming `what` otherwise.

    Refused: NUL, lone surrogates, U+FFFE/U+FFFF. Every other character is kept (a custom
    attribute may be a multi-line note).
    """
    bad = _UNSTORABLE_RE.search(value)
    if bad is not None:
        raise InvalidValue(f"{what} contains {_describe(bad[0])}: remove it")
    return value


def storable(text: str) -> str:
    """``text`` with what :func:`check_text` refuses shown as U+FFFD (for previews and
    reports, which show what was sent rather than refuse it)."""
    return _UNSTORABLE_RE.sub("\ufffd", text)


def check_label(value: str, what: str) -> str:
    """Return `value` if it is fit for a name, tag or identifier shown as one line; else
    InvalidValue. Refused besides :func:`check_text`: control characters (line breaks, tabs)
    and bidirectional overrides, embeddings and isolates."""
    if value.isascii() and value.isprintable():  # the common case, without the regex
        return value
    bad = _LABEL_BAD_RE.search(value)
    if bad is not None:
        raise InvalidValue(f"{what} {_show(value)} contains {_describe(bad[0])}: remove it")
    return value


def _show(value: object) -> str:
    """Quote a value for a message: repr of its text, cut to 60 characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > 60:
        text = text[:57] + "…"
    return repr(text) if isinstance(value, str) else text


# ---------------------------------------------------------------- emails and identifiers

_LOCAL_CHAR = r"[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f-\x9f]"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})"
_EMAIL_RE = re.compile(rf"{_LOCAL_CHAR}{{1,64}}(?:\.{_LOCAL_CHAR}+)*@(?:{_LABEL}\.)+{_TLD}")


def parse_email(raw: str) -> str:
    """Return `raw` trimmed, case preserved, if it is a syntactically valid address.

    Accepts dot-atom local parts (no quoting) of at most 64 characters, a domain of dot-separated
    labels ending in an alphabetic (or `xn--`) top-level domain, and at most 254 characters in
    all. No DNS look-up. Raises InvalidValue, e.g. "'foo@' is not a valid email address".
    """
    email = raw.strip()
    if len(email) <= 254 and _EMAIL_RE.fullmatch(email) is not None:
        local = email.partition("@")[0]
        if len(local) <= 64 and (email.isascii() or _EMAIL_BAD_RE.search(email) is None):
            return email
    raise InvalidValue(_email_problem(email))


def _email_problem(email: str) -> str:
    if not email:
        return "the email address is blank"
    base = f"{_show(email)} is not a valid email address"
    bad = _EMAIL_BAD_RE.search(email)
    if bad is not None:
        return f"{base}: it contains {_describe(bad[0])}"
    if len(email) > 254:
        return f"{base}: it is {len(email)} characters long, at most 254 are allowed"
    if "@" not in email:
        return f"{base}: it has no '@'"
    if any(c.isspace() for c in email) or "," in email or ";" in email:
        return f"{base}: give one address per cell, without spaces"
    local, _, domain = email.rpartition("@")
    if not domain:
        return f"{base}: it has nothing after '@'"
    if local and "." not in domain:
        return f"{base}: the part after '@' needs a dot, as in example.com"
    return base


def email_key(email: str) -> str:
    """The key under which emails are compared: trimmed and lower-cased with :func:`fold`, as
    the database's ``lower(email COLLATE pg_c_utf8)``."""
    return fold(email.strip())


def parse_identifier(raw: str, field: str = "user_id") -> str | None:
    """Return the trimmed identifier, or None when blank (the record has no such id).

    Raises InvalidValue for a placeholder (one of PLACEHOLDER_IDS, case-insensitive) and for a
    value longer than MAX_STRING characters; `field` names the identifier in the message.
    """
    value = raw.strip()
    if not value:
        return None
    check_label(value, field)
    if len(value) <= 9 and value.lower() in PLACEHOLDER_IDS:
        raise InvalidValue(
            f"{field} {_show(value)} is a placeholder, not a real id: "
            "leave the cell blank or give the real id"
        )
    if len(value) > MAX_STRING:
        raise InvalidValue(
            f"{field} {_show(value)} is {len(value)} characters long: "
            f"at most {MAX_STRING} are allowed"
        )
    return value


# ---------------------------------------------------------------- dates

_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_SLASH_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_SLASH_TIME_RE = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}(?:[Tt]|\s)+\S")
_UNIX_RE = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS_ABOVE: Final = 10**11
_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SLASH_FORM: Final = {"DMY": "DD/MM/YYYY", "MDY": "MM/DD/YYYY"}


def _not_a_date(value: object, date_order: str) -> str:
    form = _SLASH_FORM.get(date_order, "DD/MM/YYYY")
    return (
        f"{_show(value)} is not a date: use {form}, "
        "ISO 8601 (2015-12-31 or 2015-12-31T23:59:00Z) or Unix seconds"
    )


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


def _parse_date_text(text: str, date_order: str, numbers: bool) -> datetime | str:
    """The datetime that stripped `text` denotes, or the user-facing message of why not."""
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
            unix = _from_unix(m[1] == "-", int(m[2]), m[3] or "") if len(m[2]) <= 20 else None
            return unix if unix is not None else f"{_show(text)} is out of range for Unix time"
    if _SLASH_TIME_RE.match(text) is not None:
        form = _SLASH_FORM.get(date_order, "DD/MM/YYYY")
        return (
            f"{_show(text)} has a time after the date, but {form} takes a date only: "
            "drop the time or write ISO 8601 (2015-12-31T23:59:00Z)"
        )
    return _not_a_date(text, date_order)


def parse_datetime(raw: str | int | float, date_order: str = "DMY") -> datetime:
    """Return the aware UTC datetime that `raw` denotes (SPEC §2.2).

    Accepted: `DD/MM/YYYY` (`MM/DD/YYYY` when date_order is "MDY"; day and month may have one
    digit; a date only, midnight UTC); ISO 8601 `YYYY-MM-DD` or `YYYY-MM-DD[T ]HH:MM[:SS[.f]]`
    with optional `Z`, `±HH`, `±HH:MM` or `±HHMM` (no offset means UTC; digits beyond
    microseconds are truncated); Unix time in seconds as an int, a float or a decimal string,
    taken as milliseconds when its magnitude is above 10**11. Note that a plain number such as
    `20151231` is Unix seconds, not a basic-format ISO date. Raises InvalidValue otherwise,
    listing the accepted forms, or with a hint when the day and month look swapped.
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


def format_datetime(dt: datetime) -> str:
    """ISO 8601 in UTC, e.g. '2015-01-01T00:00:00+00:00'; a naive `dt` is taken to be UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC).isoformat()
    return dt.astimezone(UTC).isoformat()


# ---------------------------------------------------------------- phones

_INTL_PREFIX_RE = re.compile(r"[\s(\[]*(?:[+＋]|(00))")
_PHONE_PUNCT: Final = str.maketrans("", "", " -.()\u00a0")
_E164_SHAPE_RE = re.compile(r"\+[1-9][0-9]{2,16}")
_MATCH_ALL: Final = re.compile("")


@functools.cache
@functools.lru_cache(maxsize=512)
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return _MATCH_ALL  # never expected; sends every number to the full parser
    prefix = metadata.national_prefix_for_parsing
    return re.compile(prefix) if prefix else None


def _fast_number(compact: str) -> PhoneNumber | None:
    """What phonenumbers.parse(compact, None) returns for '+<digits>', or None when unsure.

    Mirrors the library's steps for this shape (pinned phonenumbers 9.0.x): country code = the
    1-3 digit prefix known to the library; a national number that could start with a national
    prefix (e.g. '+44 0 20…') is left to the full parser, which may strip it. Equivalence with
    the full parser is a property test in tests/unit/test_values.py.
    """
    digits = compact[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not 2 <= len(national) <= 17:
        return None
    prefix = _national_prefix(code)
    if prefix is not None and prefix.match(national) is not None:
        return None
    number = PhoneNumber(country_code=code, national_number=int(national))
    if len(national) > 1 and national[0] == "0":  # the library's "Italian leading zero" rule
        number.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        zeros = min(zeros, len(national) - 1)
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


_PARSE_ERRORS: Final = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "has no known country calling code",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short for a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short for a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "is too long for a phone number",
}
_LENGTH_ERRORS: Final = {
    ValidationResult.INVALID_COUNTRY_CODE: "has no known country calling code",
    ValidationResult.TOO_SHORT: "is too short for a phone number in +{}",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is a local number: add its area code after +{}",
    ValidationResult.TOO_LONG: "is too long for a phone number in +{}",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits for a phone number in +{}",
}


def _e164(number: PhoneNumber, shown: str, e164: str | None = None) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE:
        return e164 or phonenumbers.format_number(number, PhoneNumberFormat.E164)
    problem = _LENGTH_ERRORS.get(reason, "is not a possible phone number in +{}")
    raise InvalidValue(f"{shown} {problem.format(number.country_code)}")


def _parse_full(text: str, region: str | None, shown: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as e:
        problem = _PARSE_ERRORS.get(e.error_type, "is not a phone number")
        raise InvalidValue(f"{shown} {problem}") from None
    return _e164(number, shown)


def parse_phone(raw: str, default_country: str | None = None) -> str:
    """Return the number in E.164 ('+442079460958').

    A number written with its country calling code ('+44…', or the international prefix '00' as
    in '0044…' or '001…') is parsed as such; otherwise it is a national number of
    `default_country` (ISO 3166 alpha-2, any case). It must be a possible number for its country
    (right length; local-only numbers without an area code are refused). Extensions are dropped.
    Raises InvalidValue, e.g. "'020 7946 0958' has no country calling code: …".
    """
    text = raw.strip()
    shown = _show(text)
    m = _INTL_PREFIX_RE.match(text)
    if m is not None:
        if m.start(1) >= 0:  # '00' is the international prefix: the country code follows
            text = f"{text[: m.start(1)]}+{text[m.end(1) :]}"
        compact = text.translate(_PHONE_PUNCT)
        if _E164_SHAPE_RE.fullmatch(compact) is not None:
            number = _fast_number(compact)
            if number is not None:
                return _e164(number, shown, compact)
        return _parse_full(text, None, shown)
    if not text:
        raise InvalidValue("the phone number is blank")
    if not any(c.isdigit() for c in text):
        raise InvalidValue(f"{shown} is not a phone number")
    if not default_country:
        raise InvalidValue(
            f"{shown} has no country calling code: write it as +44… (or 0044…) with its "
            "own country code, or set default_country"
        )
    region = default_country.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue(
            f"default_country {_show(default_country)} is not an ISO 3166 alpha-2 code such as GB"
        )
    return _parse_full(text, region, shown)


# ---------------------------------------------------------------- custom attributes

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INT_STRICT_RE = re.compile(r"[+-]?(?:0|[1-9][0-9]{0,18})")
_FLOAT_STRICT_RE = re.compile(
    r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)
_INT_LOOSE_RE = re.compile(r"([+-]?)([0-9]+)(?:\.0*)?")
_FLOAT_LOOSE_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFER_BOOLS: Final = frozenset({"true", "false", "yes", "no"})
_BOOLS: Final = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_INT, _FLOAT, _BOOL, _DATE = 1, 2, 4, 8


def check_attribute_name(name: str) -> list[str]:
    """Every problem with `name` as a custom attribute name (an empty list means it is fine).

    Checks: 1-190 characters, no '.', '$' or control characters, no leading or trailing space,
    not a standard field name (case-insensitive). Uniqueness and the per-workspace cap are the
    caller's to check.
    """
    if not name:
        return ["a custom attribute name is empty: give it 1 to 190 characters"]
    shown = f"custom attribute name {_show(name)}"
    problems = []
    if len(name) > MAX_ATTRIBUTE_NAME:
        problems.append(f"{shown} is {len(name)} characters long: at most 190 are allowed")
    problems.extend(
        f"{shown} contains '{c}', which is not allowed: use '_' or '-'" for c in ".$" if c in name
    )
    if _CONTROL_RE.search(name) is not None or _UNSTORABLE_RE.search(name) is not None:
        problems.append(f"{shown} contains a control character such as a tab or line break")
    stripped = name.strip()
    if stripped != name:
        problems.append(f"{shown} starts or ends with a space: remove it")
    if stripped.lower() in STANDARD_FIELDS:
        problems.append(f"{shown} is a standard field: map the column to that field or rename it")
    return problems


def _sample_kinds(sample: object, date_order: str) -> int:
    if isinstance(sample, bool):
        return _BOOL
    if isinstance(sample, int):
        return _INT | _FLOAT if -INT64_MAX - 1 <= sample <= INT64_MAX else 0
    if isinstance(sample, float):
        return _FLOAT if math.isfinite(sample) else 0
    text = sample.strip() if isinstance(sample, str) else ""
    if _INT_STRICT_RE.fullmatch(text) is not None:
        return _INT | _FLOAT if -INT64_MAX - 1 <= int(text) <= INT64_MAX else 0
    if _FLOAT_STRICT_RE.fullmatch(text) is not None and ("." in text or "e" in text.lower()):
        return _FLOAT if math.isfinite(float(text)) else 0
    if text.lower() in _INFER_BOOLS:
        return _BOOL
    return _DATE if isinstance(_parse_date_text(text, date_order, False), datetime) else 0


def infer_type(samples: Iterable[str | int | float | bool | None], date_order: str = "DMY") -> str:
    """The attribute type that fits every non-blank sample, one of ATTRIBUTE_TYPES.

    'integer' if all are whole numbers within 64 bits (written without leading zeros, so codes
    such as '007' stay strings); else 'float' if all are finite numbers; else 'boolean' if all
    are true/false/yes/no (any case); else 'date' if all are ISO 8601 or DD/MM/YYYY (MM/DD/YYYY
    under "MDY") dates, plain numbers not counting as dates; else, or with no non-blank sample,
    'string'. Typed samples (from JSON sources) count by their type; None and '' are blanks.
    """
    possible = _INT | _FLOAT | _BOOL | _DATE
    seen = False
    for sample in samples:
        if sample is None or (isinstance(sample, str) and not sample.strip()):
            continue
        seen = True
        possible &= _sample_kinds(sample, date_order)
        if not possible:
            return "string"
    if not seen:
        return "string"
    for kind, name in ((_INT, "integer"), (_FLOAT, "float"), (_BOOL, "boolean")):
        if possible & kind:
            return name
    return "date"


def coerce(
    raw: str | int | float | bool, type_: str, attribute: str, date_order: str = "DMY"
) -> str | int | float | bool:
    """Convert `raw` to the JSON value stored for a custom attribute of type `type_`.

    Strings are trimmed first. integer: a whole number within 64 bits ('007' -> 7, '3.0' -> 3);
    float: a finite number; boolean: true/false/yes/no/1/0 (any case); date: the ISO string of
    format_datetime(parse_datetime(raw, date_order)); string: the text, at most 255 characters
    (a bool becomes 'true'/'false'). Raises InvalidValue naming the attribute and its type, e.g.
    "custom attribute 'plan_level' is integer: 'abc' is not a whole number"; raises ValueError
    for a `type_` not in ATTRIBUTE_TYPES (a programming error).
    """
    value = raw.strip() if isinstance(raw, str) else raw
    problem: str
    if type_ == "string":
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) > MAX_STRING:
            problem = f"the value is {len(text)} characters long, at most {MAX_STRING} are allowed"
        elif (bad := _UNSTORABLE_RE.search(text)) is not None:
            problem = f"the value contains {_describe(bad[0])}: remove it"
        else:
            return text
    elif type_ == "integer":
        result = _to_int(value)
        if result is not None:
            return result
        if _is_whole(value):
            problem = (
                f"{_show(value)} is outside the 64-bit range ({-INT64_MAX - 1} to {INT64_MAX})"
            )
        else:
            problem = f"{_show(value)} is not a whole number"
    elif type_ == "float":
        number = _to_float(value)
        if number is not None:
            return number
        problem = f"{_show(value)} is not a number"
    elif type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            flag = _BOOLS.get(value.lower())
            if flag is not None:
                return flag
        elif value in (0, 1):
            return bool(value)
        problem = f"{_show(value)} is not true/false/yes/no/1/0"
    elif type_ == "date":
        try:
            return format_datetime(parse_datetime(value, date_order))
        except InvalidValue as e:
            problem = str(e)
    else:
        raise ValueError(f"unknown attribute type {type_!r}")
    raise InvalidValue(f"custom attribute {_show(attribute)} is {type_}: {problem}")


def _is_whole(value: object) -> bool:
    """Whether `value` is written as a whole number, whatever its size."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and _INT_LOOSE_RE.fullmatch(value) is not None


def _to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        number = int(value)
    elif isinstance(value, str):
        m = _INT_LOOSE_RE.fullmatch(value)
        digits = m[2].lstrip("0") if m is not None else ""
        if m is None or len(digits) > 19:  # beyond int64; also keeps int() off huge strings
            return None
        number = int(m[1] + (digits or "0"))
    else:
        return None
    return number if -INT64_MAX - 1 <= number <= INT64_MAX else None


def _to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if _FLOAT_LOOSE_RE.fullmatch(value) is None:
            return None
        number = float(value)
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------- other standard fields


def normalize_name(raw: str) -> str:
    """The trimmed name ('' when blank); InvalidValue when longer than 255 characters or when it
    holds a character :func:`check_label` refuses (a line break, a bidi override)."""
    name = raw.strip()
    if len(name) > MAX_STRING:
        raise InvalidValue(
            f"name {_show(name)} is {len(name)} characters long: at most {MAX_STRING} are allowed"
        )
    return check_label(name, "name")


def parse_tag(raw: str) -> str:
    """The trimmed tag name ('' when blank); InvalidValue when longer than 255 characters or
    when it holds a character :func:`check_label` refuses."""
    tag = raw.strip()
    if len(tag) > MAX_STRING:
        raise InvalidValue(
            f"tag {_show(tag)} is {len(tag)} characters long: at most {MAX_STRING} are allowed"
        )
    return check_label(tag, "tag")


_IPV4_RE = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)


def parse_ip(raw: str) -> str:
    """The trimmed IPv4 or IPv6 address in its canonical form ('::1', '192.0.2.1').

    Raises InvalidValue for anything else (including IPv4 with leading zeros, '01.2.3.4').
    """
    text = raw.strip()
    if _IPV4_RE.fullmatch(text) is not None:  # the common case, without the ipaddress module
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidValue(f"{_show(text)} is not an IPv4 or IPv6 address") from None


def normalize_event_name(raw: str) -> str:
    """The event name trimmed and lower-cased, with '.' and '$' replaced by '-'.

    Raises InvalidValue when blank or longer than 255 characters.
    """
    name = raw.strip().lower().replace(".", "-").replace("$", "-")
    if not name:
        raise InvalidValue("the event name is blank")
    check_label(name, "the event name")
    if len(name) > MAX_STRING:
        raise InvalidValue(
            f"event name {_show(name)} is {len(name)} characters long: "
            f"at most {MAX_STRING} are allowed"
        )
    return name


# The collation whose lower() `fold` reproduces: per code point, Unicode's simple mapping.
CASE_COLLATION = "pg_c_utf8"
# Python's str.lower() maps İ to two code points and Σ to ς at the end of a word, where
# pg_c_utf8 maps İ -> i and Σ -> σ; and Python 3.11's Unicode 14 tables lack case pairs that
# PostgreSQL 18 (Unicode 16) maps. Translating those first leaves str.lower() mapping each
# remaining code point exactly as PostgreSQL does.
_FOLD_FIRST = str.maketrans(
    {
        0x0130: "i",
        0x03A3: "\u03c3",
        0x1C89: "\u1c8a",
        0xA7CB: "\u0264",
        0xA7CC: "\ua7cd",
        0xA7DA: "\ua7db",
        0xA7DC: "\u019b",
        **{cp: chr(cp + 0x20) for cp in range(0x10D50, 0x10D66)},  # Garay
    }
)


def fold(text: str) -> str:
    """Lower-case ``text`` as ``lower(text COLLATE pg_c_utf8)`` does (see the module docstring)."""
    if text.isascii():  # the common case: no code point needs the table
        return text.lower()
    return text.translate(_FOLD_FIRST).lower()
