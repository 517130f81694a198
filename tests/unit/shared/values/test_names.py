"""Names, IP addresses, event names and tag cells (SPEC §2.2): tables and fuzz tests for
shared.values.names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidValue
from shared.values import (
    check_attribute_name,
    normalize_event_name,
    normalize_name,
    parse_ip,
    split_tags,
)

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


# ---------------------------------------------------------------- properties and fuzzing


@given(st.text())
def test_text_parsers_never_fail_unexpectedly(raw: str) -> None:
    for parse in (normalize_name, parse_ip, normalize_event_name):
        try:
            parse(raw)
        except InvalidValue as e:
            assert str(e)
    assert isinstance(check_attribute_name(raw), list)
