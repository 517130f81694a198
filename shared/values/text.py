"""Text that can be stored and shown: what no value may hold, how values are quoted in
messages, and ``fold``, the case-insensitive key."""

from __future__ import annotations

import re
from typing import Final

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
    """Lower-case ``text`` as ``lower(text COLLATE pg_c_utf8)`` does (see CASE_COLLATION)."""
    if text.isascii():  # the common case: no code point needs the table
        return text.lower()
    return text.translate(_FOLD_FIRST).lower()
