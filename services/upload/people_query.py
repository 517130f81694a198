"""People search: the text of the search box (``GET /api/users?q=``) as one filter of the
filter language (SPEC §5.1), so the list, its count and the message builder mean the same.

The grammar (the UI's hint and docs/ARCHITECTURE.md § People search say the same)::

    query     = blank | condition | text
    condition = key op value
    key       = "tag" | "tags"
              | a standard field by its name or label, ignoring case ("user_id", "User ID")
              | "custom." attribute | attribute      (the workspace's names, ignoring case)
    op        = ":" | "=" | ">" | ">=" | "<" | "<="  (also ":>" …; spaces around are free)
    value     = "quoted" | 'quoted' | “quoted” | ‘quoted’ | bare text (trimmed)
    text      = anything else, quoted or not

What each means (text comparisons ignore case, as everywhere in the filter language):

* blank: everyone;
* text ``T``: the name or the email contains ``T``, or the user ID is ``T`` (``u1120``);
* ``tag: New Sign-Ups 2015`` or ``tag: "New Sign-Ups 2015"``: has that tag;
* ``email: ann@example.com``, ``plan: pro``, ``custom.plan: pro``: the value is that one (a
  date: on that UTC day; a number: equal; true/false for a boolean attribute; ``role: lead``);
* ``seats > 30``, ``signed_up_at < 2015-01-01``: comparisons, for numbers and dates only.

One condition per query: combining conditions is the message builder's (and segments') job.
A key is read only when the text starts with a letter (or ``_``) and has an operator: ``2001:db8``
and ``ann@example.com`` are text. A key that names nothing is refused in words (which names
exist), never searched as an always-absent attribute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared import fields
from shared.errors import InvalidValue
from shared.values import fold, parse_datetime

MAX_QUERY = 1000  # characters: a search box, not a filter document
EVERYONE: dict[str, Any] = {"and": []}

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "„": "“"}
# key, then an operator: the key starts with a letter or "_" and holds no operator or quote.
_CONDITION = re.compile(
    r"(?P<key>[^\W\d][^:=<>\"'“”‘’„]*?)\s*(?P<op>:\s*(?:>=|<=|>|<)?|=|>=|<=|>|<)\s*(?P<value>.*)",
    re.DOTALL,
)
_EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+")
_OPS = {":": "eq", "=": "eq", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
_DATE_OPS = {"eq": "eq", "gt": "after", "gte": "gte", "lt": "before", "lte": "lte"}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_ROLES = {"user": "user", "users": "user", "lead": "lead", "leads": "lead"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class PeopleQuery:
    """A search as a filter, and the identifiers it names (an email, a user ID), by which
    failed import rows can be found for someone the search may not find."""

    filter: dict[str, Any]
    email: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class _Key:
    field: str  # the filter's field: "tag", a standard field, "custom.<stored name>"
    kind: str  # "tag", "role", or the filter kind: text | number | date | boolean
    shown: str  # how the key is named back to the user


def parse(q: str | None, attribute_types: Mapping[str, str]) -> PeopleQuery:
    """The filter ``q`` means in a workspace with these custom attributes (stored name ->
    type, as ``FilterContext.attribute_types``). Raises ``InvalidValue`` with a sentence
    saying what to write instead (an unknown field, a value of the wrong type, an open quote).
    """
    text = (q or "").strip()
    if not text:
        return PeopleQuery(EVERYONE)
    if len(text) > MAX_QUERY:
        raise InvalidValue(
            f"The search is {len(text):,} characters long: at most {MAX_QUERY:,} are allowed."
        )
    if "\x00" in text:
        raise InvalidValue("The search contains a NUL character: remove it.")
    match = None if _EMAIL_LIKE.fullmatch(text) else _CONDITION.fullmatch(text)
    if match is None:
        return _text_query(_unquote(text, None))
    key = _key(" ".join(match["key"].split()), attribute_types, text)
    op = _OPS["".join(match["op"].split()).lstrip(":") or ":"]
    value = _unquote(match["value"].strip(), key)
    if not value:
        example = "New Sign-Ups 2015" if key.kind == "tag" else "…"
        raise InvalidValue(
            f"Write what to look for after “{key.shown}:”, as in “{key.shown}: {example}”."
        )
    return _condition(key, op, value)


def with_filters(
    filter_: dict[str, Any], *, email: str | None, tag: str | None, role: str | None
) -> dict[str, Any]:
    """``filter_`` and the list's other parameters (``GET /api/users?email=&tag=&role=``) as
    one filter that means what ``repository.find_contacts`` does with them: the email and the
    tag compared ignoring case and trimmed, the role exactly (it is "user" or "lead")."""
    conditions = [filter_]
    if email is not None:
        conditions.append({"field": "email", "op": "eq", "value": email.strip()})
    if tag is not None:
        conditions.append({"field": "tag", "op": "eq", "value": tag.strip()})
    if role is not None:
        conditions.append({"field": "role", "op": "eq", "value": role})
    return {"and": conditions}


def _text_query(value: str) -> PeopleQuery:
    """Free text: in the name or the email, or the whole user ID."""
    found: dict[str, Any] = {
        "or": [
            {"field": "name", "op": "contains", "value": value},
            {"field": "email", "op": "contains", "value": value},
            {"field": "user_id", "op": "eq", "value": value},
        ]
    }
    one_word = len(value.split()) == 1
    return PeopleQuery(
        found,
        email=value if one_word and "@" in value else None,
        user_id=value if one_word else None,
    )


def _unquote(value: str, key: _Key | None) -> str:
    """The text between matching quotes, or ``value`` as written when it is not quoted."""
    if not value or value[0] not in _QUOTES:
        return value
    close = _QUOTES[value[0]]
    if len(value) < 2 or value[-1] != close:
        where = f"{key.shown}: " if key else ""
        raise InvalidValue(
            f"The quote is not closed: write “{where}{value[0]}{value[1:].rstrip(close)}{close}”."
        )
    return value[1:-1].strip()


def _key(written: str, attribute_types: Mapping[str, str], text: str) -> _Key:
    """What a key names: the tag, a standard field, else a custom attribute (a field wins over
    an attribute only by its name; a label such as "Sign-up date" yields to an attribute of
    that name)."""
    folded = fold(written)
    by_fold = {fold(name): name for name in attribute_types}
    if folded in ("tag", "tags"):
        return _Key("tag", "tag", "tag")
    if folded.startswith("custom."):
        name = written[len("custom.") :].strip()
        stored = by_fold.get(fold(name))
        if stored is None:
            raise InvalidValue(
                f"This workspace has no custom attribute “{name}”. {_known(attribute_types)}"
            )
        return _attribute(stored, attribute_types)
    field = re.sub(r"[\s-]+", "_", folded)
    if field in fields.FILTERABLE:
        return _standard(field)
    if folded in by_fold:
        return _attribute(by_fold[folded], attribute_types)
    for f in fields.FIELDS:
        label = fold(re.sub(r"\s*\(.*\)$", "", f.label))
        if f.kind is not None and folded == label:
            return _standard(f.name)
    raise InvalidValue(
        f"There is no field or custom attribute “{written}” in this workspace."
        f" {_known(attribute_types)} To search for the text itself, put it in quotes:"
        f' "{text}".'
    )


def _standard(name: str) -> _Key:
    kind = fields.FILTERABLE[name]
    return _Key(name, "role" if name == "role" else kind, name)


def _attribute(stored: str, attribute_types: Mapping[str, str]) -> _Key:
    type_ = attribute_types[stored]
    kind = {"integer": "number", "float": "number"}.get(type_, type_)
    return _Key(f"custom.{stored}", "text" if kind == "string" else kind, stored)


def _known(attribute_types: Mapping[str, str]) -> str:
    """The sentence that says what can be searched."""
    names = sorted(attribute_types, key=fold)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    attributes = f" or a custom attribute ({shown})" if names else ""
    standard = ", ".join(fields.FILTERABLE)
    return (
        "Search for a name, an email or a user ID, or write “tag: <tag name>” or"
        f" “<field>: <value>” with a standard field ({standard}){attributes}."
    )


def _condition(key: _Key, op: str, value: str) -> PeopleQuery:
    if op != "eq" and key.kind not in ("number", "date"):
        raise InvalidValue(
            f"“{key.shown}” is compared as {_kind_words(key.kind)}: only numbers and dates"
            f" take > or <. Write “{key.shown}: {value}”."
        )
    if key.kind == "tag":
        return PeopleQuery({"field": "tag", "op": "eq", "value": value})
    if key.kind == "role":
        role = _ROLES.get(fold(value))
        if role is None:
            raise InvalidValue(f"A role is user or lead, not “{value}”: write “role: lead”.")
        return PeopleQuery({"field": "role", "op": "eq", "value": role})
    if key.kind == "text":
        return PeopleQuery(
            {"field": key.field, "op": "eq", "value": value},
            email=value if key.field == "email" else None,
            user_id=value if key.field == "user_id" else None,
        )
    if key.kind == "number":
        return PeopleQuery({"field": key.field, "op": op, "value": _number(key, value)})
    if key.kind == "date":
        try:
            parse_datetime(value)
        except InvalidValue:
            raise InvalidValue(
                f"“{value}” is not a date: write “{key.shown}: 2015-01-31” (or 31/01/2015)."
            ) from None
        return PeopleQuery({"field": key.field, "op": _DATE_OPS[op], "value": value})
    folded = fold(value)
    if folded not in _TRUE | _FALSE:
        raise InvalidValue(
            f"“{key.shown}” is true or false, not “{value}”: write “{key.shown}: true”."
        )
    return PeopleQuery({"field": key.field, "op": "eq", "value": folded in _TRUE})


def _number(key: _Key, value: str) -> int | float:
    # "1,000" is a thousand; "1,5" is not a number here (a decimal comma would be ambiguous).
    thousands = re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", value)
    text = value.replace(",", "") if thousands else value
    if _NUMBER.fullmatch(text):
        number = float(text) if re.search(r"[.eE]", text) else int(text)
        if isinstance(number, int) or math.isfinite(number):
            return number
    raise InvalidValue(
        f"“{key.shown}” is a number, and “{value}” is not one: write “{key.shown}: 30”."
    )


def _kind_words(kind: str) -> str:
    return {"tag": "a tag", "role": "a role", "text": "text", "boolean": "true or false"}.get(
        kind, kind
    )
