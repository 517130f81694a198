"""Validating a filter into its tree: every problem found, each with its path."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeGuard

from shared.errors import InvalidValue
from shared.fields import Kind
from shared.filters.tree import (
    _ATTRIBUTE_KINDS,
    _DATE_FORMS,
    _DATE_ONLY,
    _NO_VALUE,
    _OPS,
    ALL_OPS,
    MAX_CONDITIONS,
    MAX_DAYS_AGO,
    MAX_DEPTH,
    MAX_IN_VALUES,
    STANDARD_FIELDS,
    FilterContext,
    _Bool,
    _Const,
    _Leaf,
    _Node,
    _Not,
    _Subject,
)
from shared.values import normalize_event_name, parse_datetime


def _where(path: str) -> str:
    return path or "filter"


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


class _Parser:
    def __init__(self, ctx: FilterContext) -> None:
        self.ctx = ctx
        self.problems: list[str] = []
        self.conditions = 0
        self.expanding: list[str] = []  # segment ids being expanded, outermost first
        self.segment_cache: dict[str, tuple[_Node, int]] = {}
        self.lowered_attributes = {name.lower(): name for name in ctx.attribute_types}

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{_where(path)}: {message}")

    def node(self, raw: Any, path: str, depth: int) -> _Node | None:
        if depth > MAX_DEPTH:
            self.fail(path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        if not isinstance(raw, Mapping):
            self.fail(path, 'a condition must be an object with "and", "or", "not" or "field"')
            return None
        for op in ("and", "or"):
            if op in raw:
                if len(raw) != 1:
                    self.fail(path, f'"{op}" must be the only key of its object')
                    return None
                items = raw[op]
                if not isinstance(items, list | tuple):
                    self.fail(path, f'"{op}" takes a list of conditions')
                    return None
                kids = [
                    self.node(x, _join(path, f"{op}[{i}]"), depth + 1) for i, x in enumerate(items)
                ]
                if any(k is None for k in kids):
                    return None
                return _Bool(op, tuple(k for k in kids if k is not None))
        if "not" in raw:
            if len(raw) != 1:
                self.fail(path, '"not" must be the only key of its object')
                return None
            child = self.node(raw["not"], _join(path, "not"), depth + 1)
            return None if child is None else _Not(child)
        if "field" in raw or "op" in raw:
            return self.leaf(raw, path, depth)
        self.fail(path, 'a condition must be an object with "and", "or", "not" or "field"')
        return None

    def leaf(self, raw: Mapping[str, Any], path: str, depth: int) -> _Node | None:
        unknown = sorted(str(k) for k in raw if k not in ("field", "op", "value"))
        if unknown:
            self.fail(path, f"unknown key(s) {', '.join(map(repr, unknown))}")
            return None
        field, op = raw.get("field"), raw.get("op")
        if not isinstance(field, str):
            self.fail(path, 'a condition needs "field" (a string)')
            return None
        if op not in ALL_OPS:
            self.fail(path, f"unknown op {op!r}; use one of {', '.join(ALL_OPS)}")
            return None
        self.conditions += 1
        if self.conditions == MAX_CONDITIONS + 1:
            self.fail(path, f"more than {MAX_CONDITIONS} conditions (segments expanded)")
        value = raw.get("value")
        if field == "segment":
            return self.segment(op, value, path, depth)
        subject = self.subject(field, path)
        if subject is None:
            return None
        if subject.kind is None:  # an attribute the workspace does not have: absent everywhere
            if not self.check_untyped(op, value, path, field):
                return None
            return _Const(op in ("ne", "not_exists"))
        if op not in _OPS[subject.kind]:
            shown: str = subject.kind
            if subject.source == "custom":
                shown = self.ctx.attribute_types[subject.name]
            self.fail(
                path,
                f"{op!r} does not apply to {field} ({shown}); "
                f"use one of {', '.join(_OPS[subject.kind])}",
            )
            return None
        ok, norm = self.value(subject.kind, op, value, path, field)
        return _Leaf(subject, op, norm) if ok else None

    def subject(self, field: str, path: str) -> _Subject | None:
        if field in STANDARD_FIELDS:
            return _Subject("column", field, STANDARD_FIELDS[field])
        if field == "tag":
            return _Subject("tag", "", "text")
        if field.startswith("custom.") and len(field) > len("custom."):
            name = field[len("custom.") :]
            if not _text_ok(name):
                self.fail(path, f"{field!r}: an attribute name has no NUL characters")
                return None
            stored = name if name in self.ctx.attribute_types else None
            stored = stored or self.lowered_attributes.get(name.lower())
            if stored is None:
                return _Subject("custom", name, None)
            return _Subject("custom", stored, _ATTRIBUTE_KINDS[self.ctx.attribute_types[stored]])
        if field.startswith("event:") and len(field) > len("event:"):
            try:
                return _Subject("event", normalize_event_name(field[len("event:") :]), "number")
            except InvalidValue as e:
                self.fail(path, f"{field!r}: {e}")
                return None
        self.fail(
            path,
            f"unknown field {field!r}; use one of {', '.join(STANDARD_FIELDS)}, tag, segment, "
            "custom.<attribute> or event:<event name>",
        )
        return None

    def segment(self, op: str, value: Any, path: str, depth: int) -> _Node | None:
        if op not in ("eq", "ne"):
            self.fail(path, f"{op!r} does not apply to segment; use eq or ne")
            return None
        if not isinstance(value, str):
            self.fail(path, "segment needs a segment id (a string) as its value")
            return None
        if value not in self.ctx.segments:
            self.fail(path, f"unknown segment {value!r}")
            return None
        if value in self.expanding:
            cycle = " -> ".join([*self.expanding[self.expanding.index(value) :], value])
            self.fail(path, f"segment {value!r} refers to itself ({cycle})")
            return None
        if value in self.segment_cache:
            node, size = self.segment_cache[value]
            self.conditions += size
            if self.conditions > MAX_CONDITIONS:
                self.fail(path, f"more than {MAX_CONDITIONS} conditions (segments expanded)")
        else:
            self.expanding.append(value)
            before = self.conditions
            parsed = self.node(
                self.ctx.segments[value], _join(path, f"segment[{value}]"), depth + 1
            )
            self.expanding.pop()
            if parsed is None:
                return None
            node = parsed
            self.segment_cache[value] = (node, self.conditions - before)
        return node if op == "eq" else _Not(node)

    def check_untyped(self, op: str, value: Any, path: str, field: str) -> bool:
        """Shape checks for an attribute whose type is unknown: any type's value is accepted."""
        if op in _NO_VALUE:
            return self.no_value(op, value, path)
        if op == "in":
            if not self.in_size_ok(value, path, field):
                return False
            ok = isinstance(value, list | tuple) and bool(value) and all(map(self.scalar_ok, value))
            expected = "a non-empty list of texts, numbers or booleans"
        elif op in ("contains", "starts_with", "ends_with"):
            ok, expected = isinstance(value, str) and _text_ok(value), "a text"
        elif op in ("before", "after"):
            ok, expected = _is_date(value, self.ctx.now), f"a date ({_DATE_FORMS})"
        elif op in ("gt", "gte", "lt", "lte"):
            ok = _number_ok(value) or _is_date(value, self.ctx.now)
            expected = "a number or a date"
        else:
            ok = self.scalar_ok(value) or _is_date(value, self.ctx.now)
            expected = "a text, number, boolean or date"
        if not ok:
            self.fail(
                path,
                f"{field} {op} needs {expected}, got {value!r} "
                "(the workspace has no such attribute yet)",
            )
        return ok

    def in_size_ok(self, value: Any, path: str, field: str) -> bool:
        if isinstance(value, list | tuple) and len(value) > MAX_IN_VALUES:
            self.fail(
                path,
                f"'in' on {field} has {len(value):,} values; at most {MAX_IN_VALUES:,} are"
                " allowed (tag those people, or save them as a segment, instead)",
            )
            return False
        return True

    @staticmethod
    def scalar_ok(value: Any) -> bool:
        return (
            isinstance(value, bool)
            or _number_ok(value)
            or (isinstance(value, str) and _text_ok(value))
        )

    def no_value(self, op: str, value: Any, path: str) -> bool:
        if value is not None:
            self.fail(path, f"{op!r} takes no value")
            return False
        return True

    def value(self, kind: Kind, op: str, value: Any, path: str, field: str) -> tuple[bool, Any]:
        if op in _NO_VALUE:
            return self.no_value(op, value, path), None
        if op == "in":
            if not isinstance(value, list | tuple) or not value:
                self.fail(path, f"'in' on {field} takes a non-empty list of values")
                return False, None
            if not self.in_size_ok(value, path, field):
                return False, None
            items = [self.scalar(kind, op, v, path, field) for v in value]
            if any(not ok for ok, _ in items):
                return False, None
            return True, tuple(v for _, v in items)
        return self.scalar(kind, op, value, path, field)

    def scalar(self, kind: Kind, op: str, value: Any, path: str, field: str) -> tuple[bool, Any]:
        if kind == "text":
            if isinstance(value, str) and _text_ok(value):
                return True, value
            self.fail(path, f"{field} {op} needs a text value (no NUL characters), got {value!r}")
        elif kind == "number":
            if _number_ok(value):
                return True, _decimal(value)
            self.fail(path, f"{field} {op} needs a finite number, got {value!r}")
        elif kind == "boolean":
            if isinstance(value, bool):
                return True, value
            self.fail(path, f"{field} {op} needs true or false, got {value!r}")
        else:
            span = _date_value(value, self.ctx.now)
            if not isinstance(span, str):
                return True, span[1:] if op in ("eq", "ne") else (span[0], span[0])
            self.fail(path, f"{field} {op} needs a date: {span}")
        return False, None


def _text_ok(value: str) -> bool:
    # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be sent as UTF-8.
    return "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)


def _number_ok(value: Any) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _decimal(value: int | float) -> Decimal:
    # repr() gives the shortest decimal that round-trips: the number as JSON (and jsonb) spell it.
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _date_value(value: Any, now: datetime) -> tuple[datetime, datetime, datetime] | str:
    """(instant, first, last) of a date value, or the user-facing reason it is not one.

    ``instant`` is what before/after/gt/... compare with; ``first``..``last`` is what eq/ne
    compare with: the instant itself for a date-time, the whole UTC day for a date alone or
    for ``{"days_ago": N}``. Strings and numbers are read by ``shared.values.parse_datetime``,
    like imported dates (so Unix seconds are accepted too).
    """
    if isinstance(value, Mapping):
        n = value.get("days_ago")
        if len(value) != 1 or isinstance(n, bool) or not isinstance(n, int):
            return f'use {{"days_ago": N}} with a whole number N, not {value!r}'
        if not 0 <= n <= MAX_DAYS_AGO:
            return f"days_ago must be between 0 and {MAX_DAYS_AGO}, not {n}"
        instant = now - timedelta(days=n)
        first, last = _day_span(instant.astimezone(UTC).date())
        return instant, first, last
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"use {_DATE_FORMS}, not {value!r}"
    try:
        instant = parse_datetime(value)
    except InvalidValue as e:
        return f'{e}, or {{"days_ago": N}}'
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        first, last = _day_span(instant.date())
        return first, first, last
    return instant, instant, instant


def _is_date(value: Any, now: datetime) -> bool:
    return not isinstance(_date_value(value, now), str)


def _day_span(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    # The day's last microsecond, not the next midnight, so 9999-12-31 does not overflow.
    return start, start + (timedelta(days=1) - timedelta(microseconds=1))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
