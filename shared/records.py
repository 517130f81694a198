"""Validating a contact given as JSON (the REST API, bulk imports, remote sources).

Pure. Like a CSV row, a JSON contact becomes an identity-engine record (see shared.identity), but
an absent key is left alone and ``null`` clears the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared import fields, values
from shared.errors import InvalidValue
from shared.problems import left_out

_TEXT_FIELDS = {
    "name": values.normalize_name,
    "last_seen_ip": values.parse_ip,
}
KNOWN_KEYS = fields.WRITABLE
MAX_TAGS = 100


def json_type(value: Any) -> str:
    """The attribute type a first JSON value implies."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return values.infer_type([value])
    return "string"


def contact_record(
    obj: Mapping[str, Any],
    attribute_types: Mapping[str, str],
    *,
    date_order: str = "DMY",
    default_country: str | None = None,
    skip_invalid: bool = False,
    needs_identifier: bool = True,
) -> tuple[dict[str, Any] | None, list[str], dict[str, str]]:
    """Validate one JSON contact.

    Returns ``(record, errors, new_attributes)``: the engine record (``None`` when there are
    errors), every problem found, and the attributes this contact would create with the type its
    value implies (``attribute_types`` holds the workspace's existing ones, by exact name).
    With ``skip_invalid`` (``invalid_values: "skip_value"``, SPEC §6.2) an invalid value of an
    optional field is left out instead, and the record's ``_warnings`` say so. Without
    ``needs_identifier`` (a write to a contact named by id) neither email nor user_id is needed.
    """
    errors: list[str] = []
    skipped: list[str] = []
    optional = skipped if skip_invalid else errors
    record: dict[str, Any] = {}
    new_attributes: dict[str, str] = {}
    for key in obj:
        if key not in KNOWN_KEYS:
            errors.append(f"unknown field {key!r}: put extra data under custom_attributes")
    email = obj.get("email")
    if email is not None:
        if not isinstance(email, str):
            errors.append("email must be a string")
        else:
            try:
                record["email"] = values.parse_email(email)
            except InvalidValue as exc:
                errors.append(str(exc))
    user_id = obj.get("user_id")
    if user_id is not None:
        if isinstance(user_id, bool) or not isinstance(user_id, (str, int)):
            errors.append("user_id must be a string")
        else:
            try:
                parsed = values.parse_identifier(str(user_id), "user_id")
            except InvalidValue as exc:
                errors.append(str(exc))
            else:
                if parsed is not None:
                    record["user_id"] = parsed
    for key, parse in _TEXT_FIELDS.items():
        if key in obj:
            raw = obj[key]
            if raw is None:
                record[key] = None
            elif not isinstance(raw, str):
                errors.append(f"{key} must be a string")
            else:
                try:
                    record[key] = parse(raw) if raw.strip() else None
                except InvalidValue as exc:
                    optional.append(f"{key}: {exc}")
    if "phone" in obj:
        raw = obj["phone"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            record["phone"] = None
        elif not isinstance(raw, str):
            errors.append("phone must be a string")
        else:
            try:
                record["phone"] = values.parse_phone(raw, default_country)
            except InvalidValue as exc:
                optional.append(f"phone: {exc}")
    for key in ("signed_up_at", "last_seen_at"):
        if key in obj:
            raw = obj[key]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                record[key] = None
            elif isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                errors.append(f"{key} must be a date string or Unix seconds")
            else:
                try:
                    record[key] = values.parse_datetime(raw, date_order)
                except InvalidValue as exc:
                    optional.append(f"{key}: {exc}")
    tags = obj.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors.append("tags must be a list of names")
        elif len(tags) > MAX_TAGS:
            errors.append(f"at most {MAX_TAGS} tags per contact")
        else:
            names: list[str] = []
            for raw_tag in tags:
                try:
                    tag = values.parse_tag(raw_tag)
                except InvalidValue as exc:
                    errors.append(str(exc))
                else:
                    if tag:
                        names.append(tag)
            if names:
                record["tags"] = names
    custom = obj.get("custom_attributes")
    if custom is not None:
        if not isinstance(custom, dict):
            errors.append("custom_attributes must be an object")
        else:
            out: dict[str, Any] = {}
            lower_types = {values.fold(k): k for k in attribute_types}
            for name, value in custom.items():
                name = str(name)
                problems = values.check_attribute_name(name)
                if problems:
                    errors.extend(f"custom attribute {name!r}: {p}" for p in problems)
                    continue
                spelling: str = lower_types.get(values.fold(name), name)
                if value is None:
                    out[spelling] = None
                    continue
                if isinstance(value, (dict, list)):
                    errors.append(f"custom attribute {name!r} must be a string, number or boolean")
                    continue
                type_ = attribute_types.get(spelling) or new_attributes.get(spelling)
                if type_ is None:
                    type_ = new_attributes[spelling] = json_type(value)
                try:
                    out[spelling] = values.coerce(value, type_, spelling, date_order)
                except InvalidValue as exc:
                    optional.append(str(exc))
            if out:
                record["custom"] = out
    if needs_identifier and "email" not in record and "user_id" not in record and not errors:
        errors.append("a contact needs an email or a user_id")
    role = obj.get("role")
    if role is not None and role not in ("user", "lead"):
        errors.append("role must be 'user' or 'lead'")
    if errors:
        return None, errors, {}
    if skipped:
        record["_warnings"] = [left_out(w) for w in skipped]
    return record, errors, new_attributes


_RECORD_DATES = tuple(f for f in fields.DATES if f in fields.WRITABLE)  # a record's dates


def parse_dates(record: dict[str, Any]) -> dict[str, Any]:
    """A record that came through JSON with its standard dates back as datetimes (in place)."""
    for key in _RECORD_DATES:
        value = record.get(key)
        if isinstance(value, str):
            record[key] = datetime.fromisoformat(value)
    return record
