"""A column of cells through a value rule at once: pyarrow's kernels (RE2 patterns, casts) find
the cells a rule of this package takes as they are — or, for Unix seconds, turns into ISO text
— and leave the others to the rule itself, one by one.

Each check is conservative: a cell it takes is one the rule takes and gives that same value
for, because the patterns are the rules' own, over ASCII (the email syntax of
:mod:`~shared.values.emails` with ASCII classes, :func:`~shared.values.phones.e164_pattern`
made from the phone rule's verdicts, the IPv4 pattern of :func:`~shared.values.names.parse_ip`);
a cell it leaves, the rule decides, message included. tests/unit/shared/values/test_columns.py
checks both over generated cells.

Used where a whole column is at hand (the parser's CSV chunks, services.parser.rows): on a
chunk of 5,000 distinct emails, phones or Unix times a check costs 0.2–0.7 µs a cell, the rules
2–4 (docs/ARCHITECTURE.md, Round 9 of issue 19).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from shared.values.dates import _SECONDS_DIGITS
from shared.values.emails import EMAIL_ASCII_PATTERN
from shared.values.names import _IPV4_RE
from shared.values.phones import e164_pattern
from shared.values.text import MAX_STRING, PLACEHOLDER_IDS

# What trimming and check_label take as it is: printable ASCII, no space at either end, at most
# MAX_STRING characters (a name, an identifier).
LABEL_PATTERN: Final = rf"^[\x21-\x7e](?:[\x20-\x7e]{{0,{MAX_STRING - 2}}}[\x21-\x7e])?$"
IPV4_PATTERN: Final = f"^{_IPV4_RE.pattern}$"
SECONDS_PATTERN: Final = rf"^[0-9]{{1,{_SECONDS_DIGITS}}}$"  # iso_datetime's Unix seconds
_EMAIL_LONGEST, _LOCAL_LONGEST = 254, 64
_PLACEHOLDERS: Final = pa.array(sorted(PLACEHOLDER_IDS), pa.string())

# cells -> (their values, the indexes of the cells left to the rule: their values are not set)
Check = Callable[[Sequence[str]], tuple[list[Any], list[int]]]


def _strings(cells: Sequence[str]) -> pa.StringArray | None:
    """The cells as an Arrow array; None for cells Arrow cannot hold (a lone surrogate, which
    only the rule can word a message for)."""
    try:
        return pa.array(cells, pa.string())
    except (UnicodeError, pa.ArrowException):
        return None


def _left(taken: pa.BooleanArray) -> list[int]:
    """The indexes of the cells not ``taken``."""
    left: list[int] = pc.indices_nonzero(pc.invert(taken)).to_pylist()
    return left


def _as_is(cells: Sequence[str], taken: pa.BooleanArray | None) -> tuple[list[Any], list[int]]:
    """Every cell its own value where ``taken``; the others are left to the rule."""
    if taken is None:
        return list(cells), list(range(len(cells)))
    return list(cells), _left(taken)


def _matching(cells: Sequence[str], pattern: str) -> tuple[list[Any], list[int]]:
    """Every cell its own value where it matches ``pattern``; the others are left to the rule."""
    array = _strings(cells)
    return _as_is(cells, None if array is None else pc.match_substring_regex(array, pattern))


def emails(cells: Sequence[str]) -> tuple[list[Any], list[int]]:
    """:func:`~shared.values.parse_email` of each cell, for the ASCII addresses written trimmed."""
    array = _strings(cells)
    if array is None:
        return _as_is(cells, None)
    taken = pc.and_(
        pc.match_substring_regex(array, EMAIL_ASCII_PATTERN),  # ASCII: a byte is a character
        pc.and_(
            pc.less_equal(pc.binary_length(array), _EMAIL_LONGEST),
            pc.less_equal(pc.find_substring(array, "@"), _LOCAL_LONGEST),
        ),
    )
    return _as_is(cells, taken)


def labels(cells: Sequence[str]) -> tuple[list[Any], list[int]]:
    """:func:`~shared.values.normalize_name` of each cell, for printable ASCII written
    trimmed."""
    return _matching(cells, LABEL_PATTERN)


def identifiers(cells: Sequence[str]) -> tuple[list[Any], list[int]]:
    """:func:`~shared.values.parse_identifier` of each cell, for the labels that are not a
    placeholder id (blank cells are left to the rule: None)."""
    array = _strings(cells)
    if array is None:
        return _as_is(cells, None)
    taken = pc.and_(
        pc.match_substring_regex(array, LABEL_PATTERN),
        pc.invert(pc.is_in(pc.utf8_lower(array), value_set=_PLACEHOLDERS)),
    )
    return _as_is(cells, taken)


def phones(cells: Sequence[str]) -> tuple[list[Any], list[int]]:
    """:func:`~shared.values.parse_phone` of each cell, for numbers already in E.164 that it
    returns as they are (whatever the default country: a '+' number has its own)."""
    return _matching(cells, e164_pattern())


def ipv4(cells: Sequence[str]) -> tuple[list[Any], list[int]]:
    """:func:`~shared.values.parse_ip` of each cell, for IPv4 addresses written canonically."""
    return _matching(cells, IPV4_PATTERN)


def unix_seconds(cells: Sequence[str]) -> tuple[list[Any], list[int]]:
    """:func:`~shared.values.iso_datetime` of each cell that is Unix seconds (all digits, too
    few to be milliseconds): the ISO text in UTC, '2020-09-13T12:26:40+00:00'."""
    array = _strings(cells)
    if array is None:
        return _as_is(cells, None)
    taken = pc.match_substring_regex(array, SECONDS_PATTERN)
    seconds = pc.cast(pc.if_else(taken, array, "0"), pa.int64())
    text = pc.cast(pc.cast(seconds, pa.timestamp("s")), pa.string())  # '2020-09-13 12:26:40'
    iso = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 0, 10), pc.utf8_slice_codeunits(text, 11, 19), "T"
    )
    out: list[Any] = pc.binary_join_element_wise(iso, "+00:00", "").to_pylist()
    return out, _left(taken)
