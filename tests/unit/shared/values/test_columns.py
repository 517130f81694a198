"""shared.values.columns: a cell a column check takes is one its rule takes, with the same
value; a cell it leaves, the rule decides — over generated cells, the rules' edge values among
them. And the checks take the values real files hold, or they would only cost time."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.values import (
    columns,
    iso_datetime,
    normalize_name,
    parse_email,
    parse_identifier,
    parse_ip,
    parse_phone,
)
from shared.values.emails import _EMAIL_RE, EMAIL_ASCII_PATTERN

Rule = Callable[[str], Any]


def _agrees(check: columns.Check, rule: Rule, cells: Sequence[str]) -> list[int]:
    """Asserts every cell ``check`` takes gets the value ``rule`` gives it; the cells left."""
    out, left = check(cells)
    assert len(out) == len(cells)
    assert left == sorted(set(left))
    for i, cell in enumerate(cells):
        if i in left:
            continue
        assert rule(cell) == out[i], cell
    return left


def _text(alphabet: str, max_size: int = 30) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size)


_ANY = st.text(max_size=40)  # any code point but lone surrogates
_ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=40)
_ATOMS = st.lists(st.text(alphabet="ab9", min_size=1, max_size=30), min_size=1, max_size=4)
_EMAILISH = st.builds(
    lambda local, domain, tld, space: f"{space}{local}@{domain}.{tld}{space}",
    st.one_of(_text("abcXY09.-_+'!\"(@ \u00e9", 70), _ATOMS.map(".".join)),  # (64 at most)
    _text("ab9-_.\u00e9", 70),
    _text("comXN-\u00e90", 8),
    st.sampled_from(["", " ", "\t", "\n"]),
)
_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=13)
_PHONEISH = st.builds(lambda d, p: p + d, _DIGITS, st.sampled_from(["+", "+1", "+44", " +", "00"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_EMAILISH, _ANY, _ASCII), min_size=1, max_size=20))
def test_emails_agree_with_parse_email(cells: list[str]) -> None:
    _agrees(columns.emails, parse_email, cells)


@settings(max_examples=300, deadline=None)
@given(_ASCII)
def test_the_ascii_email_syntax_is_the_rules_on_ascii(text: str) -> None:
    ascii_match = re.fullmatch(EMAIL_ASCII_PATTERN[1:-1], text) is not None
    assert ascii_match == (_EMAIL_RE.fullmatch(text) is not None)


_LABELISH = st.one_of(
    _ANY,
    _ASCII,
    st.sampled_from(["null", "NULL", "nan", "-1", "0", " 7 ", "x" * 255, "x" * 256, "u\u202e1"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LABELISH, min_size=1, max_size=20))
def test_labels_and_identifiers_agree_with_their_rules(cells: list[str]) -> None:
    _agrees(columns.labels, normalize_name, cells)
    _agrees(columns.identifiers, parse_identifier, cells)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_PHONEISH, _ANY), min_size=1, max_size=20), st.sampled_from([None, "GB"]))
def test_phones_agree_with_parse_phone(cells: list[str], country: str | None) -> None:
    _agrees(columns.phones, lambda cell: parse_phone(cell, country), cells)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_DIGITS, _ASCII, st.sampled_from(["99999999999", "100000000000"]))))
def test_unix_seconds_agree_with_iso_datetime(cells: list[str]) -> None:
    _agrees(columns.unix_seconds, iso_datetime, cells)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ASCII, st.ip_addresses(v=4).map(str), st.ip_addresses().map(str))))
def test_ipv4_agrees_with_parse_ip(cells: list[str]) -> None:
    _agrees(columns.ipv4, parse_ip, cells)


_TYPICAL: list[tuple[columns.Check, list[str]]] = [
    (columns.emails, ["n195000@new.example.com", "Ann.Lee+x@mail.co.uk", "a@xn--bcher-kva.de"]),
    (columns.labels, ["Person 195000", "Ann O'Lee"]),
    (columns.identifiers, ["n195000", "42", "user-7"]),
    (columns.phones, ["+14157230148", "+33612345678", "+390612345678"]),
    (columns.ipv4, ["10.184.249.10", "192.0.2.1"]),
    (columns.unix_seconds, ["1600000000", "0"]),
]


@pytest.mark.parametrize(("check", "cells"), _TYPICAL)
def test_the_checks_take_the_values_files_hold(check: columns.Check, cells: list[str]) -> None:
    assert check(cells)[1] == []


def test_what_the_checks_leave_goes_to_the_rule() -> None:
    left = _agrees(columns.emails, parse_email, ["a@x.io", " a@x.io", "é@x.io", "a@x.io\n"])
    assert left == [1, 2, 3]
    longest = "a" * 40 + "." + "b" * 23  # the local part's 64 characters at most
    emails = [f"{longest}@x.io", f"{longest}b@x.io", f"a@{'x' * 63}.{'y' * 63}.{'z' * 63}.io"]
    emails.append(f"a@{'x' * 63}.{'y' * 63}.{'z' * 63}.{'w' * 60}.io")  # over 254 in all
    assert _agrees(columns.emails, parse_email, emails) == [1, 3]
    out, left = columns.unix_seconds(["1600000000", "2015-12-31", "99999999999", "100000000000"])
    assert (out[0], out[2], left) == (
        "2020-09-13T12:26:40+00:00",
        iso_datetime("99999999999"),
        [1, 3],
    )
    # A national number starting with '1' under +1 may hold the US national prefix: left to the
    # phone rule (the full parser), which decides.
    assert columns.phones(["+1" + "1" * 10, "+12125550100"])[1] == [0]


def test_a_cell_arrow_cannot_hold_is_left_to_the_rule() -> None:
    cells = ["a@x.io", "b\udcff@x.io"]  # a lone surrogate (a byte the file's encoding lacks)
    for check in (columns.emails, columns.labels, columns.phones, columns.unix_seconds):
        assert check(cells)[1] == [0, 1]
