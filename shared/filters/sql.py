"""Translating a filter's tree into SQL over ``contacts`` (mirrors shared.filters.memory)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.fields import Kind
from shared.filters.tree import _NO_VALUE, _Bool, _Leaf, _Node, _Not, _Subject
from shared.values import CASE_COLLATION

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
