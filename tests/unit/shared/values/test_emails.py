"""Tables of accepted and rejected emails and identifiers (SPEC §2.1, §2.2) and fuzz tests for
shared.values.emails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidValue
from shared.values import PLACEHOLDER_IDS, email_key, parse_email, parse_identifier

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


# ---------------------------------------------------------------- properties and fuzzing


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
