"""Text that cannot be stored (shared.values.text): control and text-direction characters,
invisible characters in emails, NUL and lone surrogates, as every parser meets them."""

from __future__ import annotations

import re

import pytest

from shared.errors import InvalidValue
from shared.values import (
    coerce,
    normalize_event_name,
    normalize_name,
    parse_email,
    parse_identifier,
    parse_tag,
    storable,
)

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
