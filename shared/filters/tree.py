"""The parsed form of a filter (a tree of conditions with normalised values), its limits and
the context it is compiled against."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared import fields
from shared.fields import Kind

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
