"""What Intercom's REST API 2.x means for Usher (SPEC §7; COMPAT §1): its objects, its contact
and event bodies, and its search language — pure, so every rule here is a unit test.

- Objects look as Intercom's do: ``type``, ``id``, ``external_id`` (Usher's ``user_id``),
  ``role``, times in Unix seconds (date custom attributes too), ``tags`` as a list object.
- A contact body (``POST``/``PUT /contacts``) becomes the JSON contact ``POST /api/users``
  takes: ``external_id`` → ``user_id``; ``email``, ``name``, ``phone``, ``signed_up_at``,
  ``last_seen_at``, ``custom_attributes`` as they are (``null`` clears); Intercom fields Usher
  does not keep (``avatar``, ``owner_id``, ``unsubscribed_from_emails``, …) are left out with a
  warning.
- An event's metadata keeps Intercom's typed objects readable: a rich link ``{url, value}``
  becomes its URL, an amount ``{amount, currency}`` (cents) a text such as "349.99 EUR"; past
  10 keys the rest are left out with a warning, as Intercom does.
- A search query (``{field, operator, value}`` or ``{operator: AND|OR, value: [...]}``)
  becomes a filter of Usher's filter language (SPEC §5.1), so search and audiences read people
  the same way. Times are matched by day, as Intercom does: ``created_at = t`` is "on t's UTC
  day", ``> t`` "from the next day", ``< t`` "before t's day".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import fields
from shared.errors import InvalidValue
from shared.values import fold, parse_datetime

# Fields of a contact body and what they are in Usher's JSON contact.
_CONTACT_KEYS = {
    "external_id": "user_id",
    "email": "email",
    "name": "name",
    "phone": "phone",
    "signed_up_at": "signed_up_at",
    "last_seen_at": "last_seen_at",
    "custom_attributes": "custom_attributes",
}
MAX_METADATA = 10  # Intercom keeps the first 10 keys of an event's metadata
MAX_PER_PAGE = 150  # Intercom's own limit on per_page
DEFAULT_PER_PAGE = 50


@dataclass
class ContactInput:
    """A contact body as Usher reads it."""

    contact: dict[str, Any]  # the JSON contact of POST /api/users (without role)
    role: str | None  # as asked ("user" | "lead"), or None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def contact_input(body: Any) -> ContactInput:
    """Read a ``POST``/``PUT /contacts`` body."""
    if not isinstance(body, dict):
        return ContactInput({}, None, ["the body must be a JSON object describing one contact"])
    read = ContactInput({}, None)
    role = body.get("role")
    if role is not None and role not in ("user", "lead"):
        read.errors.append(f"role must be 'user' or 'lead', not {role!r}")
    else:
        read.role = role
    for key, value in body.items():
        target = _CONTACT_KEYS.get(key)
        if target is not None:
            read.contact[target] = value
        elif key != "role":
            read.warnings.append(f"{key!r} is not a contact field Usher keeps: left out")
    if read.contact.get("user_id") is None:  # an identifier is never cleared
        read.contact.pop("user_id", None)
    return read


def unix(when: datetime | None) -> int | None:
    return int(when.timestamp()) if when is not None else None


def tag_object(tag_id: int | str, name: str) -> dict[str, Any]:
    return {"type": "tag", "id": str(tag_id), "name": name}


def contact_object(
    row: Mapping[str, Any],
    workspace_id: str,
    tag_ids: Mapping[str, int],
    attribute_types: Mapping[str, str],
) -> dict[str, Any]:
    """A contact row (``repository.CONTACT_COLUMNS``) as Intercom's contact object;
    ``tag_ids``: the workspace's tag ids by case-folded name."""
    contact_id = row["id"]
    tags = []
    for name in row["tags"]:
        tag_id = tag_ids.get(fold(name))
        tags.append({**tag_object(tag_id or "", name), "url": f"/tags/{tag_id}"})
    custom = {
        name: _unix_text(value) if attribute_types.get(name) == "date" else value
        for name, value in (row["custom"] or {}).items()
    }
    return {
        "type": "contact",
        "id": contact_id,
        "workspace_id": workspace_id,
        "external_id": row["user_id"],
        "role": row["role"],
        "email": row["email"],
        "phone": row["phone"],
        "name": row["name"],
        "avatar": None,
        "owner_id": None,
        "has_hard_bounced": False,
        "marked_email_as_spam": False,
        "unsubscribed_from_emails": False,
        "created_at": unix(row["created_at"]),
        "updated_at": unix(row["updated_at"]),
        "signed_up_at": unix(row["signed_up_at"]),
        "last_seen_at": unix(row["last_seen_at"]),
        "custom_attributes": custom,
        "tags": {
            "type": "list",
            "data": tags,
            "url": f"/contacts/{contact_id}/tags",
            "total_count": len(tags),
            "has_more": False,
        },
    }


def _unix_text(value: Any) -> Any:
    """A date attribute's stored ISO text as Unix seconds (anything else as it is)."""
    if isinstance(value, str):
        try:
            return unix(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def list_object(
    data: list[Any], total: int, per_page: int, page: int, after: str | None
) -> dict[str, Any]:
    """Intercom's list: ``pages.next`` only when there is a next page (its cursor ``after``)."""
    pages: dict[str, Any] = {
        "type": "pages",
        "page": page,
        "per_page": per_page,
        "total_pages": max(1, -(-total // per_page)),
    }
    if after is not None:
        pages["next"] = {"page": page + 1, "starting_after": after, "per_page": per_page}
    return {"type": "list", "data": data, "total_count": total, "pages": pages}


def per_page(raw: Any) -> int:
    """``per_page`` (1..150, default 50); InvalidValue else."""
    if raw is None:
        return DEFAULT_PER_PAGE
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise InvalidValue(f"per_page must be a whole number from 1 to {MAX_PER_PAGE}")
    value = int(raw)
    if not 1 <= value <= MAX_PER_PAGE:
        raise InvalidValue(f"per_page must be from 1 to {MAX_PER_PAGE}, not {value}")
    return value


# -- events -------------------------------------------------------------------------------


def event_body(body: Any) -> tuple[Any, list[str]]:
    """A ``POST /events`` body as ``POST /api/events`` takes it, and what was left out."""
    if not isinstance(body, dict):
        return body, []
    warnings: list[str] = []
    out = {k: v for k, v in body.items() if k != "metadata"}
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        kept: dict[str, Any] = {}
        for key, value in metadata.items():
            if len(kept) == MAX_METADATA:
                warnings.append(
                    f"metadata {key!r} left out: Intercom and Usher keep the first"
                    f" {MAX_METADATA} keys of an event"
                )
                continue
            kept[key] = _metadata_value(value)
        out["metadata"] = kept
    elif metadata is not None:
        out["metadata"] = metadata  # POST /api/events' own check says what is wrong
    return out, warnings


def _metadata_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) <= {"url", "value"} and isinstance(value.get("url"), str):
            return value["url"]  # a rich link
        amount, currency = value.get("amount"), value.get("currency")
        if (
            set(value) == {"amount", "currency"}
            and isinstance(amount, int)
            and isinstance(currency, str)
        ):
            return f"{amount / 100:.2f} {currency.upper()}"  # an amount in cents
    return value


# -- search -------------------------------------------------------------------------------

_TEXT_OPERATORS = {"~": "contains", "^": "starts_with", "$": "ends_with"}
_FIELDS = {
    "id": "id",
    "external_id": "user_id",
    "role": "role",
    "email": "email",
    "name": "name",
    "phone": "phone",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "signed_up_at": "signed_up_at",
    "last_seen_at": "last_seen_at",
}
SEARCH_FIELDS = (*_FIELDS, "email_domain", "tag_id", "custom_attributes.<name>")
OPERATORS = ("=", "!=", "IN", "NIN", ">", "<", "~", "!~", "^", "$")


class SearchError(ValueError):
    """A query Usher cannot run; the message says what to change."""


def search_filter(
    query: Any, attribute_types: Mapping[str, str], tag_names: Mapping[str, str]
) -> dict[str, Any]:
    """A search ``query`` as a filter of Usher's filter language (raises SearchError).
    ``tag_names``: the workspace's tag names by tag id (as text)."""
    return _Translate(attribute_types, tag_names).node(query, "query")


def tag_ids_in(query: Any) -> set[str]:
    """The tag ids a query names (``tag_id`` conditions), to look their names up."""
    if not isinstance(query, dict):
        return set()
    if query.get("operator") in ("AND", "OR") and isinstance(query.get("value"), list):
        return set().union(*(tag_ids_in(q) for q in query["value"]))
    if query.get("field") != "tag_id":
        return set()
    value = query.get("value")
    return {str(v) for v in (value if isinstance(value, list) else [value])}


class _Translate:
    def __init__(self, attribute_types: Mapping[str, str], tag_names: Mapping[str, str]) -> None:
        self.types = {fold(k): (k, t) for k, t in attribute_types.items()}
        self.tag_names = tag_names

    def node(self, query: Any, where: str) -> dict[str, Any]:
        if not isinstance(query, dict):
            raise SearchError(f"{where} must be an object: {{field, operator, value}}")
        operator = query.get("operator")
        if operator in ("AND", "OR"):
            value = query.get("value")
            if not isinstance(value, list) or not value:
                raise SearchError(f"{where}.value must be a non-empty list of queries")
            parts = [self.node(q, f"{where}.value[{i}]") for i, q in enumerate(value)]
            return {"and" if operator == "AND" else "or": parts}
        if "field" not in query:
            raise SearchError(
                f"{where} needs a field (or operator AND/OR with a list of queries as value)"
            )
        if operator not in OPERATORS:
            raise SearchError(
                f"{where}.operator {operator!r} is not one of {', '.join(OPERATORS)}, AND, OR"
            )
        return self.condition(query["field"], operator, query.get("value"), where)

    def condition(self, name: Any, operator: str, value: Any, where: str) -> dict[str, Any]:
        if operator in ("IN", "NIN"):
            if not isinstance(value, list) or not value:
                raise SearchError(f"{where}.value must be a non-empty list for {operator}")
        elif isinstance(value, list | dict):
            raise SearchError(f"{where}.value must be one value for {operator}")
        if name == "tag_id":
            return self.tag(operator, value, where)
        if name == "email_domain":
            return self.domain(operator, value, where)
        target, kind = self.field(name, where)
        if kind == "date":
            return _by_day(target, operator, value, where)
        if operator in _TEXT_OPERATORS or operator == "!~":
            if kind != "text":
                raise SearchError(f"{where}: {operator} compares text, and {name} is not text")
            op = _TEXT_OPERATORS.get(operator, "contains")
            condition = {"field": target, "op": op, "value": value}
            return {"not": condition} if operator == "!~" else condition
        return _compare(target, operator, value)

    def field(self, name: Any, where: str) -> tuple[str, str]:
        if isinstance(name, str) and name in _FIELDS:
            target = _FIELDS[name]
            return target, fields.FILTERABLE[target]
        if isinstance(name, str) and name.startswith("custom_attributes."):
            attribute = name.removeprefix("custom_attributes.")
            known = self.types.get(fold(attribute))
            if known is None:  # absent on everyone, as the filter language has it
                return f"custom.{attribute}", "text"
            stored, type_ = known
            kind = {"string": "text", "integer": "number", "float": "number"}.get(type_, type_)
            return f"custom.{stored}", kind
        raise SearchError(
            f"{where}.field {name!r} cannot be searched; searchable: {', '.join(SEARCH_FIELDS)}"
        )

    def tag(self, operator: str, value: Any, where: str) -> dict[str, Any]:
        if operator not in ("=", "!=", "IN", "NIN"):
            raise SearchError(f"{where}: tag_id takes =, !=, IN or NIN")
        ids = value if isinstance(value, list) else [value]
        names = [self.tag_names[str(i)] for i in ids if str(i) in self.tag_names]
        has: dict[str, Any] = (
            {"field": "tag", "op": "in", "value": names} if names else {"or": []}
        )  # a tag nobody has: nobody matches
        return {"not": has} if operator in ("!=", "NIN") else has

    def domain(self, operator: str, value: Any, where: str) -> dict[str, Any]:
        if operator not in ("=", "!=") or not isinstance(value, str):
            raise SearchError(f"{where}: email_domain takes = or != and a domain")
        condition = {"field": "email", "op": "ends_with", "value": "@" + value.lstrip("@")}
        return {"not": condition} if operator == "!=" else condition


def _compare(target: str, operator: str, value: Any) -> dict[str, Any]:
    if operator in ("IN", "NIN"):
        condition = {"field": target, "op": "in", "value": value}
        return {"not": condition} if operator == "NIN" else condition
    op = {"=": "eq", "!=": "ne", ">": "gt", "<": "lt"}[operator]
    return {"field": target, "op": op, "value": value}


def _by_day(target: str, operator: str, value: Any, where: str) -> dict[str, Any]:
    """A time condition matched by UTC day (Intercom's rule)."""
    if operator not in ("=", "!=", ">", "<", "IN", "NIN"):
        raise SearchError(f"{where}: {operator} compares text, and {target} is a time")
    values = value if isinstance(value, list) else [value]
    days = [_day(v, where) for v in values]
    if operator in ("IN", "NIN"):
        condition: dict[str, Any] = {
            "or": [{"field": target, "op": "eq", "value": d.isoformat()} for d in days]
        }
        return {"not": condition} if operator == "NIN" else condition
    day = days[0]
    if operator == ">":
        return {"field": target, "op": "gte", "value": (day + timedelta(days=1)).isoformat()}
    if operator == "<":
        return {"field": target, "op": "lt", "value": day.isoformat()}
    return {"field": target, "op": "eq" if operator == "=" else "ne", "value": day.isoformat()}


def _day(value: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SearchError(f"{where}.value must be a time in Unix seconds")
    try:
        return parse_datetime(value).astimezone(UTC).date()
    except InvalidValue as exc:
        raise SearchError(f"{where}.value: {exc}") from None
