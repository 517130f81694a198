"""Evaluating a filter's tree on one person in memory (mirrors shared.filters.sql)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.filters.parse import _aware, _decimal, _number_ok
from shared.filters.tree import _NO_VALUE, _Bool, _Leaf, _Node, _Not, _Subject
from shared.values import fold


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
