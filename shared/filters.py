"""The filter language of audiences and segments (SPEC §5.1): validate, evaluate, translate to SQL.

A filter is JSON: ``{"and": [f, ...]}``, ``{"or": [f, ...]}``, ``{"not": f}`` or a condition
``{"field", "op", "value"?}``. ``matches`` evaluates it on one person in memory; ``to_sql`` turns it
into a boolean SQL expression over ``contacts``. The contract is that both agree on every person, so
each rule below is implemented once on each side and the property test
``tests/integration/test_filter_property.py`` checks them against each other on PostgreSQL.

Decisions (where the spec is silent):

* ``{"and": []}`` is true, ``{"or": []}`` is false; ``not`` is plain boolean negation. In SQL every
  condition is wrapped in ``COALESCE(..., false)``, so NULL never reaches a ``NOT``.
* Fields: the standard text fields (``id``, ``role``, ``user_id``, ``email``, ``name``, ``phone``,
  ``last_seen_ip``), the standard date fields (``signed_up_at``, ``last_seen_at``, ``created_at``,
  ``updated_at``), ``tag``, ``segment``, ``custom.<name>`` and ``event:<name>``. Field names are
  exact; a node with unknown keys (a typo such as ``"valeu"``) is invalid.
* Operators per kind of value —
  text: eq ne contains starts_with ends_with in exists not_exists;
  number: eq ne in gt gte lt lte exists not_exists;
  date: eq ne before after gt gte lt lte exists not_exists;
  boolean: eq ne exists not_exists; tag: as text; segment: eq ne.
  ``in`` takes a non-empty list. ``exists``/``not_exists`` take no value (or null).
* Missing values: a person without a value is not equal to anything, so ``ne`` is TRUE and
  ``not_exists`` is true; every other operator (eq, contains, in, gt, before, ...) is false.
* Text comparisons are case-insensitive: SQL lower-cases both sides with
  ``lower(x COLLATE pg_c_utf8)`` and Python with ``fold``. Both map code point by code point with
  Unicode's simple lower-case mapping (``İ`` -> ``i``; ``Σ`` -> ``σ`` even at the end of a word;
  ``ß`` stays): the same on every code point (tests/integration checks all of them). The explicit
  collation (PostgreSQL 17+, builtin provider) matters: the database's own default is the ``C``
  locale, where plain ``lower()`` changes ASCII letters only. contains/starts_with/ends_with use
  ``strpos``/``left``/``right``, not LIKE, so ``%``, ``_`` and ``\\`` in a value are ordinary
  characters. An empty string is a value (``exists`` is true for it).
* ``tag``: eq = has this tag, ne = does not have it, contains/starts_with/ends_with = some tag
  matches, in = has any of the listed tags, exists = has any tag, not_exists = has none.
* ``segment`` (value = segment id): eq = matches the segment's saved filter, ne = does not. The
  saved filter is expanded in place; an unknown id, a segment that refers back to itself,
  nesting deeper than ``MAX_DEPTH`` or more than ``MAX_CONDITIONS`` conditions after expansion
  are invalid.
* ``custom.<name>``: the type comes from ``FilterContext.attribute_types`` (``string`` is text,
  ``integer``/``float`` are numbers). The name is looked up exactly, then case-insensitively
  (attribute names are unique case-insensitively); the stored spelling is used. An attribute the
  workspace does not have is absent on everyone: exists false, not_exists true, ne true, everything
  else false — whatever a person's ``custom`` holds under that key. Its value is still checked for
  the operator (e.g. ``in`` needs a list). A stored value whose JSON type does not fit the
  attribute's type (a string in an integer attribute) is treated as absent on both sides.
  Custom date values must be ISO 8601 strings with an offset, as ``values.coerce`` writes them
  (SQL casts them with ``::timestamptz``; a string without an offset would depend on the
  session's TimeZone there, while it means UTC here).
* ``event:<name>``: the number of events with that name, 0 when none, so it is never missing
  (exists = at least one). The name is normalised like the events API
  (``shared.values.normalize_event_name``: trimmed, lower-case, ``.`` and ``$`` become ``-``).
* Numbers compare exactly as decimals (``numeric`` in SQL, ``Decimal(repr(x))`` here, so ``0.1`` is
  the JSON number 0.1, not the nearest binary float); booleans are not numbers; NaN and infinities
  are rejected.
* Dates: a value is what imports accept (``shared.values.parse_datetime``: ISO 8601 date or
  date-time with no offset meaning UTC, ``DD/MM/YYYY``, Unix seconds) or ``{"days_ago": N}``
  (an integer 0..100000, meaning ``ctx.now - N days``). Comparisons are between
  instants; a date alone means its midnight UTC. before/lt = strictly earlier, after/gt = strictly
  later, gte/lte include the instant. ``eq``/``ne`` with a date alone or with ``days_ago`` mean
  "on / not on that UTC calendar day"; with a date-time they mean the same instant.

``validate`` raises ``InvalidFilter`` naming every problem with its path (``and[1].or[0]``);
``matches`` and ``to_sql`` validate first and raise the same. ``compile_filter`` validates once and
returns an object that evaluates many people or renders SQL without re-validating.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeGuard

import orjson

from shared import fields
from shared.errors import InvalidFilter, InvalidValue
from shared.fields import Kind
from shared.values import CASE_COLLATION, fold, normalize_event_name, parse_datetime

MAX_DEPTH = 32
MAX_CONDITIONS = 2000
MAX_DAYS_AGO = 100_000
MAX_IN_VALUES = 1000  # values in one "in": a longer list belongs in a tag or a segment
MAX_FILTER_BYTES = 256 * 1024  # the whole filter as JSON


STANDARD_FIELDS: Mapping[str, Kind] = fields.FILTERABLE
_ATTRIBUTE_KINDS: Mapping[str, Kind] = {
    "string": "text",
    "integer": "number",
    "float": "number",
    "boolean": "boolean",
    "date": "date",
}
_OPS: Mapping[Kind, tuple[str, ...]] = {
    "text": ("eq", "ne", "contains", "starts_with", "ends_with", "in", "exists", "not_exists"),
    "number": ("eq", "ne", "in", "gt", "gte", "lt", "lte", "exists", "not_exists"),
    "date": ("eq", "ne", "before", "after", "gt", "gte", "lt", "lte", "exists", "not_exists"),
    "boolean": ("eq", "ne", "exists", "not_exists"),
}
ALL_OPS = (*_OPS["text"], "gt", "gte", "lt", "lte", "before", "after")
_NO_VALUE = ("exists", "not_exists")
_DATE_FORMS = 'an ISO 8601 date or date-time, DD/MM/YYYY, Unix seconds or {"days_ago": N}'
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True)
class FilterContext:
    """What a filter is evaluated against: the workspace's attribute types and saved segments."""

    attribute_types: Mapping[str, str]  # attribute name as stored -> string|integer|float|...
    segments: Mapping[str, Any]  # segment id -> its saved (raw JSON) filter
    now: datetime  # aware; {"days_ago": N} is now - N days

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("FilterContext.now must be timezone-aware")
        for name, type_ in self.attribute_types.items():
            if type_ not in _ATTRIBUTE_KINDS:
                raise ValueError(f"attribute {name!r} has unknown type {type_!r}")


# --- the parsed form: a tree of conditions with normalised values ---------------------------


@dataclass(frozen=True)
class _Subject:
    source: Literal["column", "custom", "event", "tag"]
    name: str  # column name, stored attribute name or normalised event name ("" for tag)
    kind: Kind | None  # None: an attribute the workspace does not have


@dataclass(frozen=True)
class _Leaf:
    subject: _Subject
    op: str
    # str | tuple[str, ...] | Decimal | tuple[Decimal, ...] | bool | None for exists/not_exists,
    # and for dates (first, last): an instant is (t, t), a calendar day is (midnight, next - 1µs).
    value: Any


@dataclass(frozen=True)
class _Bool:
    op: Literal["and", "or"]
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    child: _Node


@dataclass(frozen=True)
class _Const:
    value: bool


_Node = _Leaf | _Bool | _Not | _Const


class CompiledFilter:
    """A validated filter: evaluate it on many people, or render it as SQL."""

    def __init__(self, root: _Node) -> None:
        self._root = root

    def matches(self, contact: Mapping[str, Any]) -> bool:
        return _eval(self._root, contact)

    @property
    def matches_everyone(self) -> bool:
        """Whether it holds for every person whatever their values (``{"and": []}``)."""
        return _constant(self._root) is True

    @property
    def uses_events(self) -> bool:
        """Whether it reads event counts (``contact["events"]``), which cost a query to load."""
        return _uses_events(self._root)

    def to_sql(self, alias: str = "c", first_param: int = 1) -> tuple[str, list[Any]]:
        if not _ALIAS.fullmatch(alias):
            raise ValueError(f"alias must be a plain SQL identifier, got {alias!r}")
        if first_param < 1:
            raise ValueError("first_param must be at least 1")
        sql = _Sql(alias, first_param)
        return sql.node(self._root), sql.params


def _constant(node: _Node) -> bool | None:
    """The node's value when it does not depend on the person, else None."""
    if isinstance(node, _Const):
        return node.value
    if isinstance(node, _Not):
        inner = _constant(node.child)
        return None if inner is None else not inner
    if isinstance(node, _Bool):
        values = [_constant(child) for child in node.children]
        if node.op == "and":
            return False if False in values else (True if all(v is True for v in values) else None)
        return True if True in values else (False if all(v is False for v in values) else None)
    return None


def _uses_events(node: _Node) -> bool:
    if isinstance(node, _Leaf):
        return node.subject.source == "event"
    if isinstance(node, _Bool):
        return any(_uses_events(child) for child in node.children)
    if isinstance(node, _Not):
        return _uses_events(node.child)
    return False


def compile_filter(filter_: Any, ctx: FilterContext) -> CompiledFilter:
    """Validate ``filter_`` against ``ctx``; raises ``InvalidFilter`` listing every problem."""
    _check_size(filter_)
    parser = _Parser(ctx)
    root = parser.node(filter_, "", 0)
    if parser.problems or root is None:
        raise InvalidFilter(list(dict.fromkeys(parser.problems)) or ["filter: invalid"])
    return CompiledFilter(root)


def _check_size(filter_: Any) -> None:
    """A filter is small: at most ``MAX_FILTER_BYTES`` of JSON (bounded work per request)."""
    try:
        size = len(orjson.dumps(filter_))
    except (TypeError, orjson.JSONEncodeError):  # an integer beyond 64 bits, say
        size = len(json.dumps(filter_, default=str))
    if size > MAX_FILTER_BYTES:
        raise InvalidFilter(
            [f"filter: it is {size:,} bytes of JSON; at most {MAX_FILTER_BYTES:,} are allowed"]
        )


def validate(filter_: Any, ctx: FilterContext) -> None:
    """Raise ``InvalidFilter`` (every problem, each with its path) unless ``filter_`` is valid."""
    compile_filter(filter_, ctx)


def matches(filter_: Any, contact: Mapping[str, Any], ctx: FilterContext) -> bool:
    """Whether one person (the in-memory contact mapping) matches ``filter_``."""
    return compile_filter(filter_, ctx).matches(contact)


def to_sql(
    filter_: Any, ctx: FilterContext, alias: str = "c", first_param: int = 1
) -> tuple[str, list[Any]]:
    """A boolean SQL expression over ``contacts AS <alias>`` and its parameter values.

    Placeholders are numbered ``$first_param`` upwards; every value and attribute name travels as
    a parameter with an explicit cast, so asyncpg can infer its type. The expression is never NULL.
    """
    return compile_filter(filter_, ctx).to_sql(alias, first_param)


# --- validation -----------------------------------------------------------------------------


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


# --- evaluation in memory -------------------------------------------------------------------


def _eval(node: _Node, contact: Mapping[str, Any]) -> bool:
    if isinstance(node, _Leaf):
        return _eval_leaf(node, contact)
    if isinstance(node, _Bool):
        if node.op == "and":
            return all(_eval(child, contact) for child in node.children)
        return any(_eval(child, contact) for child in node.children)
    if isinstance(node, _Not):
        return not _eval(node.child, contact)
    return node.value


def _eval_leaf(leaf: _Leaf, contact: Mapping[str, Any]) -> bool:
    op, want = leaf.op, leaf.value
    if leaf.subject.source == "tag":
        tags = [fold(t) for t in contact.get("tags") or () if isinstance(t, str)]
        if op in _NO_VALUE:
            return bool(tags) == (op == "exists")
        has = any(_text_op("eq" if op == "ne" else op, t, want) for t in tags)
        return not has if op == "ne" else has
    have = _extract(leaf.subject, contact)
    if op in _NO_VALUE:
        present = have > 0 if leaf.subject.source == "event" else have is not None
        return bool(present) == (op == "exists")
    if have is None:
        return op == "ne"
    if leaf.subject.kind == "text":
        if op == "ne":
            return not _text_op("eq", fold(have), want)
        return _text_op(op, fold(have), want)
    if leaf.subject.kind == "date":
        return _date_op(op, have, *want)
    if op == "in":
        return bool(have in want)
    return _order_op(op, have, want)


def _date_op(op: str, have: datetime, first: datetime, last: datetime) -> bool:
    if op == "eq":
        return first <= have <= last
    if op == "ne":
        return not first <= have <= last
    return _order_op(op, have, first)


def _order_op(op: str, have: Any, want: Any) -> bool:
    """eq/ne and the orderings on numbers, booleans and instants (not None)."""
    if op == "eq":
        return bool(have == want)
    if op == "ne":
        return bool(have != want)
    if op in ("gt", "after"):
        return bool(have > want)
    if op == "gte":
        return bool(have >= want)
    if op in ("lt", "before"):
        return bool(have < want)
    return bool(have <= want)  # lte


def _text_op(op: str, have: str, want: Any) -> bool:
    """``have`` is already folded; ``want`` is the filter's raw value (or tuple for ``in``)."""
    if op == "in":
        return any(have == fold(w) for w in want)
    value = fold(want)
    if op == "contains":
        return value in have
    if op == "starts_with":
        return have.startswith(value)
    if op == "ends_with":
        return have.endswith(value)
    return have == value  # eq (ne is the negation of eq, done by the caller)


def _extract(subject: _Subject, contact: Mapping[str, Any]) -> Any:
    """The person's value for ``subject`` as the SQL side sees it, or None when it is absent."""
    if subject.source == "event":
        count = (contact.get("events") or {}).get(subject.name, 0)
        return Decimal(count if isinstance(count, int) and not isinstance(count, bool) else 0)
    if subject.source == "column":
        raw = contact.get(subject.name)
        if subject.kind == "date":
            return _aware(raw) if isinstance(raw, datetime) else None
        return raw if isinstance(raw, str) else None
    raw = (contact.get("custom") or {}).get(subject.name)
    if subject.kind == "text":
        return raw if isinstance(raw, str) else None
    if subject.kind == "number":
        return _decimal(raw) if _number_ok(raw) else None
    if subject.kind == "boolean":
        return raw if isinstance(raw, bool) else None
    if isinstance(raw, str):
        try:
            return _aware(datetime.fromisoformat(raw))
        except ValueError:
            return None
    return None


# --- translation to SQL ---------------------------------------------------------------------

_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "before": "<", "after": ">"}
_SQL_TYPES: Mapping[Kind, str] = {
    "text": "text",
    "number": "numeric",
    "date": "timestamptz",
    "boolean": "boolean",
}
_JSON_TYPES: Mapping[Kind, str] = {
    "text": "string",
    "number": "number",
    "date": "string",
    "boolean": "boolean",
}


def _lower(sql: str) -> str:
    return f"lower(({sql}) COLLATE {CASE_COLLATION})"


class _Sql:
    def __init__(self, alias: str, first_param: int) -> None:
        self.alias = alias
        self.first_param = first_param
        self.params: list[Any] = []

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"(${self.first_param + len(self.params) - 1}::{sql_type})"

    def node(self, node: _Node) -> str:
        if isinstance(node, _Leaf):
            return self.leaf(node)
        if isinstance(node, _Bool):
            if not node.children:
                return "TRUE" if node.op == "and" else "FALSE"
            joiner = " AND " if node.op == "and" else " OR "
            return "(" + joiner.join(self.node(child) for child in node.children) + ")"
        if isinstance(node, _Not):
            return f"(NOT {self.node(node.child)})"
        return "TRUE" if node.value else "FALSE"

    def leaf(self, leaf: _Leaf) -> str:
        op, want, a = leaf.op, leaf.value, self.alias
        if leaf.subject.source == "tag":
            if op in _NO_VALUE:
                return f"(COALESCE(cardinality({a}.tags), 0) {'>' if op == 'exists' else '='} 0)"
            cond = self.text("eq" if op == "ne" else op, _lower("_ft.t"), want)
            has = f"EXISTS (SELECT 1 FROM unnest({a}.tags) AS _ft(t) WHERE {cond})"
            return f"(NOT {has})" if op == "ne" else f"({has})"
        have = self.value(leaf.subject)
        if op in _NO_VALUE and leaf.subject.source == "event":  # a count: "exists" is > 0
            return f"({have} {'>' if op == 'exists' else '='} 0)"
        if op in _NO_VALUE:
            return f"({have} IS {'NOT ' if op == 'exists' else ''}NULL)"
        kind = leaf.subject.kind
        assert kind is not None
        if kind == "text":
            cond = self.text("eq" if op == "ne" else op, _lower(have), want)
        elif kind == "date":
            first, last = want
            if op in ("eq", "ne"):
                lo = self.param(first, "timestamptz")
                cond = (
                    f"{have} = {lo}"
                    if first == last
                    else f"{have} BETWEEN {lo} AND {self.param(last, 'timestamptz')}"
                )
            else:
                cond = f"{have} {_COMPARE[op]} {self.param(first, 'timestamptz')}"
        elif op == "in":
            # A subquery, not "= ANY(array)": PostgreSQL hashes it once (a hashed SubPlan), so
            # the cost is one probe per person, not one comparison per person and value.
            values = self.param(list(want), "numeric[]")
            cond = f"{have} = ANY (SELECT _fv.v FROM unnest({values}) AS _fv(v))"
        else:
            cmp = {"eq": "=", "ne": "="}.get(op) or _COMPARE[op]
            cond = f"{have} {cmp} {self.param(want, _SQL_TYPES[kind])}"
        # ne is "not equal": NULL (no value) counts as not equal.
        return f"(NOT COALESCE({cond}, false))" if op == "ne" else f"COALESCE({cond}, false)"

    def text(self, op: str, have: str, want: Any) -> str:
        """Condition on the lower-cased text expression ``have``."""
        if op == "in":
            values = self.param(list(want), "text[]")
            return f"{have} = ANY (SELECT {_lower('_fv.v')} FROM unnest({values}) AS _fv(v))"
        value = _lower(self.param(want, "text"))
        if op == "contains":
            return f"strpos({have}, {value}) > 0"
        if op == "starts_with":
            return f"left({have}, char_length({value})) = {value}"
        if op == "ends_with":
            return f"right({have}, char_length({value})) = {value}"
        return f"{have} = {value}"

    def value(self, subject: _Subject) -> str:
        """SQL for the person's value, NULL when absent (mirrors ``_extract``)."""
        a = self.alias
        if subject.source == "column":
            return f"{a}.{subject.name}"  # from STANDARD_FIELDS, never from the filter's text
        if subject.source == "event":
            name = self.param(subject.name, "text")
            return (
                f"(SELECT count(*) FROM events AS _fe"
                f" WHERE _fe.contact_id = {a}.id AND _fe.name = {name})"
            )
        kind = subject.kind
        assert kind is not None
        key = self.param(subject.name, "text")
        raw = f"({a}.custom ->> {key})"
        typed = raw if kind == "text" else f"{raw}::{_SQL_TYPES[kind]}"
        return (
            f"(CASE WHEN jsonb_typeof({a}.custom -> {key}) = '{_JSON_TYPES[kind]}'"
            f" THEN {typed} END)"
        )
