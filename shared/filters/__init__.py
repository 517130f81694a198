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
from collections.abc import Mapping
from typing import Any

import orjson

from shared.errors import InvalidFilter
from shared.filters.memory import Predicate, predicate
from shared.filters.parse import _Parser
from shared.filters.sql import _Sql
from shared.filters.tree import (
    _ALIAS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_FILTER_BYTES,
    MAX_IN_VALUES,
    STANDARD_FIELDS,
    FilterContext,
    _constant,
    _Node,
    _uses_events,
)
from shared.values import CASE_COLLATION, fold


class CompiledFilter:
    """A validated filter: evaluate it on many people, or render it as SQL."""

    def __init__(self, root: _Node) -> None:
        self._root = root
        self._predicate: Predicate | None = None  # made on the first call (see matches)

    def matches(self, contact: Mapping[str, Any]) -> bool:
        # Made here, not when compiled: a value it trips on raises where evaluating did before.
        if self._predicate is None:
            self._predicate = predicate(self._root)
        return self._predicate(contact)

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


__all__ = [
    "CASE_COLLATION",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_FILTER_BYTES",
    "MAX_IN_VALUES",
    "STANDARD_FIELDS",
    "CompiledFilter",
    "FilterContext",
    "InvalidFilter",
    "compile_filter",
    "fold",
    "matches",
    "to_sql",
    "validate",
]
