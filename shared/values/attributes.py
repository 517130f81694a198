"""Custom attributes: their names, the type a column implies, and values coerced to it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from shared.errors import InvalidValue
from shared.values.dates import _parse_date_text, format_datetime, parse_datetime
from shared.values.text import (
    _UNSTORABLE_RE,
    INT64_MAX,
    MAX_ATTRIBUTE_NAME,
    MAX_STRING,
    STANDARD_FIELDS,
    _describe,
    _show,
)

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
