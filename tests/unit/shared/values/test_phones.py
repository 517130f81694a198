"""Tables of accepted and rejected phone numbers (SPEC §2.2) and fuzz tests for
shared.values.phones, checked against the phonenumbers library."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidValue
from shared.values import parse_phone

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
        # a national number must be a valid one of the default country, not only possible
        ("(415) 555-2671", "GB", r"is not a valid GB phone number: check its digits, or write"),
        ("07700 900123", "GB", "is not a valid GB phone number"),  # Ofcom's drama range
        ("0612345678", "US", "is not a valid US phone number"),  # a French mobile
    ],
)
def test_parse_phone_rejects(raw: str, country: str | None, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_phone(raw, country)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("+44 12", "'+44 12' is too short for a phone number in +44"),
        ("  +44 12 ", "'+44 12' is too short for a phone number in +44"),
        ("(+44) 12", "'(+44) 12' is too short for a phone number in +44"),
        ("0044 12", "'0044 12' is too short for a phone number in +44"),
    ],
)
def test_an_international_number_is_quoted_as_written(raw: str, message: str) -> None:
    """Whichever way the country code is written, the message quotes the cell (trimmed), not
    the '+…' form it was read as."""
    with pytest.raises(InvalidValue) as refused:
        parse_phone(raw)
    assert str(refused.value) == message


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


# ---------------------------------------------------------------- properties and fuzzing


_phoneish = st.from_regex(r"[ +(]{0,2}(00)?[0-9 ().x#-]{0,25}", fullmatch=True)


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
