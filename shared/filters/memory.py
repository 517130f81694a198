"""Evaluating a filter's tree on one person in memory (mirrors shared.filters.sql).

A tree is turned once into nested closures (:func:`predicate`), each leaf's branches on its
subject and operator decided then and its value folded then: the writers judge every audience
on every person a batch changed, so this runs once per person and message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.filters.parse import _aware, _decimal, _number_ok
from shared.filters.tree import _NO_VALUE, _Bool, _Leaf, _Node, _Not, _Subject
from shared.values import fold

Predicate = Callable[[Mapping[str, Any]], bool]
_Test = Callable[[Any], bool]  # on a value that is present


def predicate(node: _Node) -> Predicate:
    """Whether a person (a mapping of their fields, ``custom``, ``tags`` and ``events``, the
    event counts) is in the audience of ``node``."""
    if isinstance(node, _Leaf):
        return _leaf(node)
    if isinstance(node, _Bool):
        children = tuple(predicate(child) for child in node.children)
        if node.op == "and":
            return lambda contact: all(p(contact) for p in children)
        return lambda contact: any(p(contact) for p in children)
    if isinstance(node, _Not):
        child = predicate(node.child)
        return lambda contact: not child(contact)
    value = node.value
    return lambda contact: value


def _leaf(leaf: _Leaf) -> Predicate:
    op, want, subject = leaf.op, leaf.value, leaf.subject
    if subject.source == "tag":
        return _tag_leaf(op, want)
    extract = _extractor(subject)
    if op in _NO_VALUE:
        exists = op == "exists"
        if subject.source == "event":
            return lambda contact: bool(extract(contact) > 0) == exists
        return lambda contact: (extract(contact) is not None) == exists
    test: _Test
    if subject.kind == "text":
        text = _text_test("eq" if op == "ne" else op, want)
        if op == "ne":
            test = lambda have: not text(fold(have))  # noqa: E731
        else:
            test = lambda have: text(fold(have))  # noqa: E731
    elif subject.kind == "date":
        test = _date_test(op, *want)
    elif op == "in":
        test = lambda have: bool(have in want)  # noqa: E731
    else:
        test = _order_test(op, want)
    absent = op == "ne"

    def leaf_matches(contact: Mapping[str, Any]) -> bool:
        have = extract(contact)
        return absent if have is None else test(have)

    return leaf_matches


def _tag_leaf(op: str, want: Any) -> Predicate:
    if op in _NO_VALUE:
        exists = op == "exists"
        return lambda contact: any(isinstance(t, str) for t in contact.get("tags") or ()) == exists
    text = _text_test("eq" if op == "ne" else op, want)

    def has(contact: Mapping[str, Any]) -> bool:
        return any(text(fold(t)) for t in contact.get("tags") or () if isinstance(t, str))

    return (lambda contact: not has(contact)) if op == "ne" else has


def _date_test(op: str, first: datetime, last: datetime) -> _Test:
    if op == "eq":
        return lambda have: first <= have <= last
    if op == "ne":
        return lambda have: not first <= have <= last
    return _order_test(op, first)


def _order_test(op: str, want: Any) -> _Test:
    """eq/ne and the orderings on numbers, booleans and instants (not None)."""
    if op == "eq":
        return lambda have: bool(have == want)
    if op == "ne":
        return lambda have: bool(have != want)
    if op in ("gt", "after"):
        return lambda have: bool(have > want)
    if op == "gte":
        return lambda have: bool(have >= want)
    if op in ("lt", "before"):
        return lambda have: bool(have < want)
    return lambda have: bool(have <= want)  # lte


def _text_test(op: str, want: Any) -> Callable[[str], bool]:
    """On a folded value; ``want`` is the filter's raw value (or tuple for ``in``), folded here."""
    if op == "in":
        values = tuple(fold(w) for w in want)
        return lambda have: have in values
    value = fold(want)
    if op == "contains":
        return lambda have: value in have
    if op == "starts_with":
        return lambda have: have.startswith(value)
    if op == "ends_with":
        return lambda have: have.endswith(value)
    return lambda have: have == value  # eq (ne is the negation of eq, done by the caller)


def _extractor(subject: _Subject) -> Callable[[Mapping[str, Any]], Any]:
    """The person's value for ``subject`` as the SQL side sees it, or None when it is absent."""
    name, kind = subject.name, subject.kind
    if subject.source == "event":

        def count(contact: Mapping[str, Any]) -> Any:
            n = (contact.get("events") or {}).get(name, 0)
            return Decimal(n if isinstance(n, int) and not isinstance(n, bool) else 0)

        return count
    if subject.source == "column":
        if kind == "date":
            return lambda contact: _date_or_none(contact.get(name))
        return lambda contact: _text_or_none(contact.get(name))
    if kind == "text":
        return lambda contact: _text_or_none((contact.get("custom") or {}).get(name))
    if kind == "number":
        return lambda contact: _number_or_none((contact.get("custom") or {}).get(name))
    if kind == "boolean":
        return lambda contact: _bool_or_none((contact.get("custom") or {}).get(name))
    return lambda contact: _iso_or_none((contact.get("custom") or {}).get(name))


def _text_or_none(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


def _date_or_none(raw: Any) -> datetime | None:
    return _aware(raw) if isinstance(raw, datetime) else None


def _number_or_none(raw: Any) -> Decimal | None:
    return _decimal(raw) if _number_ok(raw) else None


def _bool_or_none(raw: Any) -> bool | None:
    return raw if isinstance(raw, bool) else None


def _iso_or_none(raw: Any) -> datetime | None:
    if isinstance(raw, str):
        try:
            return _aware(datetime.fromisoformat(raw))
        except ValueError:
            return None
    return None
