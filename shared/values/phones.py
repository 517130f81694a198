"""Phone numbers in E.164 (SPEC §2.2), with a fast path for numbers already written so."""

from __future__ import annotations

import functools
import re
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberFormat, ValidationResult

from shared.errors import InvalidValue
from shared.values.text import _show

_INTL_PREFIX_RE = re.compile(r"[\s(\[]*(?:[+＋]|(00))")
_PHONE_PUNCT: Final = str.maketrans("", "", " -.()\u00a0")
_E164_SHAPE_RE = re.compile(r"\+[1-9][0-9]{2,16}")
_MATCH_ALL: Final = re.compile("")


@functools.cache  # one entry per country calling code: at most ~250
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return _MATCH_ALL  # never expected; sends every number to the full parser
    prefix = metadata.national_prefix_for_parsing
    return re.compile(prefix) if prefix else None


def _fast_split(compact: str) -> tuple[int, str] | None:
    """The country calling code and national number phonenumbers.parse(compact, None) finds in
    '+<digits>', or None when unsure.

    Mirrors the library's steps for this shape (pinned phonenumbers 9.0.x): country code = the
    1-3 digit prefix known to the library; a national number that could start with a national
    prefix (e.g. '+44 0 20…') is left to the full parser, which may strip it. Leading zeros stay
    in the national number (the library keeps them: its "Italian leading zero"), so its length is
    that of the library's national significant number. Equivalence with the full parser is a
    property test in tests/unit/shared/values/test_phones.py.
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
    return code, national


@functools.cache  # one entry per (country calling code, length): a few hundred at most
def _possible_length(country_code: int, length: int) -> int:
    """phonenumbers.is_possible_number_with_reason for a number of ``country_code`` whose
    national significant number has ``length`` digits: the library looks at nothing else (that
    length against the possible lengths of the code's main region), so one number of that
    length answers for all — without making a PhoneNumber per value."""
    number = PhoneNumber(country_code=country_code, national_number=int("1" * length))
    return phonenumbers.is_possible_number_with_reason(number)


@functools.cache
def e164_pattern() -> str:
    """An anchored pattern (RE2 and Python alike) of the numbers :func:`parse_phone` returns
    as they are written: '+<digits>' that :func:`_fast_split` splits and whose national number
    has a possible length for its country calling code — made from those same two functions'
    verdicts, code by code and length by length. A code whose national prefix is not a plain
    string of digits is left out (its numbers go to the functions themselves)."""
    known = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    codes: list[str] = []
    for code in sorted(known):
        digits = str(code)
        if any(int(digits[:size]) in known for size in range(1, len(digits))):
            continue  # _fast_split takes the shorter code first
        prefix = _national_prefix(code)
        literal = "" if prefix is None else prefix.pattern
        if prefix is not None and not literal.isdigit():
            continue  # (_MATCH_ALL's pattern is empty)
        lengths = [
            n
            for n in range(max(2, 3 - len(digits)), 18 - len(digits))
            if _possible_length(code, n) == ValidationResult.IS_POSSIBLE
        ]
        branches: list[str] = []
        for n in lengths:
            if n < len(literal) or not literal:
                branches.append(f"[0-9]{{{n}}}")
                continue
            # Not starting with the national prefix: it differs at its first digit, or its
            # second, ...
            for i, digit in enumerate(literal):
                other = "".join(d for d in "0123456789" if d != digit)
                branches.append(f"{literal[:i]}[{other}][0-9]{{{n - i - 1}}}")
        if branches:
            codes.append(f"{digits}(?:{'|'.join(branches)})")
    return rf"^\+(?:{'|'.join(codes)})$"


def _international(text: str, written: str) -> str:
    """``text``, a number with its country calling code ('+…'), in E.164; ``written`` is the
    cell as it was (for the messages). The fast path decides when it can, else the library."""
    compact = text.translate(_PHONE_PUNCT)
    split = _fast_split(compact) if _E164_SHAPE_RE.fullmatch(compact) is not None else None
    if split is None:
        return _parse_full(text, None, _show(written))
    code, national = split
    reason = _possible_length(code, len(national))
    if reason == ValidationResult.IS_POSSIBLE:
        return compact
    raise _impossible(_show(written), reason, code)


# What a national number read without a default country is said to lack (the dry run's
# problem groups and the mapping step's sample check recognise it by these words).
NO_COUNTRY_CODE: Final = "has no country calling code"
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


def _e164(number: PhoneNumber, shown: str) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    raise _impossible(shown, reason, number.country_code)


def _impossible(shown: str, reason: int, country_code: int | None) -> InvalidValue:
    problem = _LENGTH_ERRORS.get(reason, "is not a possible phone number in +{}")
    return InvalidValue(f"{shown} {problem.format(country_code)}")


def _parse_number(text: str, region: str | None, shown: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as e:
        problem = _PARSE_ERRORS.get(e.error_type, "is not a phone number")
        raise InvalidValue(f"{shown} {problem}") from None


def _parse_full(text: str, region: str | None, shown: str) -> str:
    return _e164(_parse_number(text, region, shown), shown)


def parse_phone(raw: str, default_country: str | None = None) -> str:
    """Return the number in E.164 ('+442079460958').

    A number written with its country calling code ('+44…', or the international prefix '00' as
    in '0044…' or '001…') is parsed as such; otherwise it is a national number of
    `default_country` (ISO 3166 alpha-2, any case). It must be a possible number for its country
    (right length; local-only numbers without an area code are refused), and a national number a
    valid one of `default_country` (a US number under GB is refused, not stored as +44…).
    Extensions are dropped. Raises InvalidValue, e.g. "'020 7946 0958' has no country calling
    code: …".
    """
    text = raw.strip()
    if text[:1] == "+":  # the commonest shape: what the prefix pattern would find at 0
        return _international(text, text)
    m = _INTL_PREFIX_RE.match(text)
    if m is not None:
        if m.start(1) < 0:
            return _international(text, text)
        # '00' is the international prefix: the country code follows
        return _international(f"{text[: m.start(1)]}+{text[m.end(1) :]}", text)
    shown = _show(text)
    if not text:
        raise InvalidValue("the phone number is blank")
    if not any(c.isdigit() for c in text):
        raise InvalidValue(f"{shown} is not a phone number")
    if not default_country:
        raise InvalidValue(
            f"{shown} {NO_COUNTRY_CODE}: write it as +44… (or 0044…) with its "
            "own country code, or set default_country"
        )
    region = default_country.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue(
            f"default_country {_show(default_country)} is not an ISO 3166 alpha-2 code such as GB"
        )
    number = _parse_number(text, region, shown)
    e164 = _e164(number, shown)
    # The parser takes any possible length as a number of the region: a US number under GB
    # would be stored as +44… — only a number valid in its region is.
    if not phonenumbers.is_valid_number(number):
        if number.country_code == phonenumbers.country_code_for_region(region):
            raise InvalidValue(
                f"{shown} is not a valid {region} phone number: check its digits, or write it"
                " with its country code (+…) if it is of another country"
            )
        raise InvalidValue(f"{shown} is not a valid phone number: check its digits")
    return e164
