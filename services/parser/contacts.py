"""JSON records into identity-engine records: bulk API contacts, MailChimp members, Mixpanel
profiles (SPEC §3 source specifics). Pure: no I/O.

Vendor records are first mapped to the JSON contact of the REST API (``POST /api/users``), then
validated by :func:`shared.records.contact_record`, so every write path shares one set of rules.
A vendor field that is blank or missing is left out (the contact's value is left alone): vendors
write ``""`` for "unknown", which must not erase what Usher already knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from shared import fields, values
from shared.records import contact_record

MAX_ATTRIBUTES = 250
Contact = dict[str, Any]

# Mixpanel's reserved profile properties that map to standard fields.
_MIXPANEL_FIELDS = {
    "$email",
    "$name",
    "$first_name",
    "$last_name",
    "$created",
    "$last_seen",
    "$phone",
}


def _text(value: Any) -> str | None:
    """A non-blank string value, trimmed; numbers become text; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _join_name(first: Any, last: Any) -> str | None:
    parts = [p for p in (_text(first), _text(last)) if p]
    return " ".join(parts) or None


# -- MailChimp ------------------------------------------------------------------------------


def mailchimp_contact(member: Any) -> tuple[Contact | None, list[str]]:
    """A MailChimp list member (Marketing API v3) as a JSON contact.

    email_address → email; FNAME + LNAME → name; PHONE → phone; ip_signup, else ip_opt →
    last_seen_ip; timestamp_signup, else timestamp_opt → signed_up_at; tags[].name → tags.
    """
    if not isinstance(member, dict):
        return None, ["the member is not a JSON object"]
    contact: Contact = {}
    email = _text(member.get("email_address"))
    if email is not None:
        contact["email"] = email
    merge = member.get("merge_fields")
    merge = merge if isinstance(merge, dict) else {}
    name = _join_name(merge.get("FNAME"), merge.get("LNAME"))
    if name is not None:
        contact["name"] = name
    phone = _text(merge.get("PHONE"))
    if phone is not None:
        contact["phone"] = phone
    ip = _text(member.get("ip_signup")) or _text(member.get("ip_opt"))
    if ip is not None:
        contact["last_seen_ip"] = ip
    signed_up = _text(member.get("timestamp_signup")) or _text(member.get("timestamp_opt"))
    if signed_up is not None:
        contact["signed_up_at"] = signed_up
    tags = member.get("tags")
    if isinstance(tags, list):
        names = [t["name"] for t in tags if isinstance(t, dict) and _text(t.get("name"))]
        if names:
            contact["tags"] = names
    return contact, []


# -- Mixpanel -------------------------------------------------------------------------------


def mixpanel_attribute_name(key: str) -> str:
    """The custom attribute a Mixpanel property becomes.

    A leading ``$`` (Mixpanel's reserved properties: ``$city``, ``$timezone`` …) is dropped; other
    ``$`` and ``.`` (not allowed in attribute names) become ``_``; a name that is a standard
    field gets the prefix ``mixpanel_`` (``$user_id`` → ``mixpanel_user_id``).
    """
    name = key[1:] if key.startswith("$") else key
    name = "".join(ch for ch in name if ch.isprintable()).replace("$", "_").replace(".", "_")
    name = name.strip()[: values.MAX_ATTRIBUTE_NAME - len("mixpanel_")] or "property"
    if name.lower() in fields.NAMES:
        name = "mixpanel_" + name
    return name


def _attribute_value(value: Any) -> Any:
    """Mixpanel list and object properties become text: a list of scalars joined by ', '."""
    if isinstance(value, list):
        if all(isinstance(v, str | int | float | bool) for v in value):
            return ", ".join(str(v) for v in value)
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return value


def mixpanel_contact(profile: Any, kind: str) -> tuple[Contact | None, list[str]]:
    """A Mixpanel people profile (``{"$distinct_id", "$properties"}``) as a JSON contact.

    ``$distinct_id`` → user_id (not for ``$device:…`` ids, which are anonymous, nor for leads);
    ``$email``, ``$name`` (else ``$first_name`` + ``$last_name``), ``$created`` → signed_up_at,
    ``$last_seen`` → last_seen_at, ``$phone``; every other property with a value becomes a
    custom attribute (see :func:`mixpanel_attribute_name`; on a clash the property without
    ``$`` wins).
    """
    if not isinstance(profile, dict):
        return None, ["the profile is not a JSON object"]
    props = profile.get("$properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        return None, ["$properties is not a JSON object"]
    contact: Contact = {}
    distinct_id = profile.get("$distinct_id")
    if isinstance(distinct_id, str | int) and not isinstance(distinct_id, bool):
        text = str(distinct_id)
        if kind == "users" and text.strip() and not text.startswith("$device:"):
            contact["user_id"] = text
    email = _text(props.get("$email"))
    if email is not None:
        contact["email"] = email
    name = _text(props.get("$name")) or _join_name(
        props.get("$first_name"), props.get("$last_name")
    )
    if name is not None:
        contact["name"] = name
    for key, field in (("$created", "signed_up_at"), ("$last_seen", "last_seen_at")):
        value = props.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            contact[field] = value
        elif _text(value) is not None:
            contact[field] = _text(value)
    phone = _text(props.get("$phone"))
    if phone is not None:
        contact["phone"] = phone
    custom: dict[str, Any] = {}
    # Reserved ($) properties first, so a plain property of the same name overwrites them.
    for key in sorted(props, key=lambda k: not str(k).startswith("$")):
        value = props[key]
        if key in _MIXPANEL_FIELDS or value is None or value == "":
            continue
        custom[mixpanel_attribute_name(str(key))] = _attribute_value(value)
    if custom:
        contact["custom_attributes"] = custom
    return contact, []


# -- bulk API contacts ----------------------------------------------------------------------


def api_role(obj: Any) -> str:
    """The role a bulk-API record asks for ('user' unless it says 'lead'), for chunking."""
    return "lead" if isinstance(obj, dict) and obj.get("role") == "lead" else "user"


def api_contact(obj: Any) -> tuple[Contact | None, list[str]]:
    """A bulk-API record is already a JSON contact; only its shape is checked here."""
    if not isinstance(obj, dict):
        return None, ["the record is not a JSON object describing one contact"]
    if obj.get("role") == "lead" and obj.get("user_id") is not None:
        return None, ["a lead has no user_id: send role 'user' to create or update a user"]
    return obj, []


# -- validation -----------------------------------------------------------------------------


class JsonValidator:
    """Validates JSON contacts against the workspace's attribute types, growing them.

    A custom attribute not seen before takes the type of its first value
    (:func:`shared.records.json_type`) and keeps it for the rest of the import; the caller
    registers :meth:`take_new` before sending the records that use them.
    """

    def __init__(
        self,
        attribute_types: Mapping[str, str],
        *,
        date_order: str = "DMY",
        default_country: str | None = None,
        invalid_values: str = "fail_record",
    ) -> None:
        self.types: dict[str, str] = dict(attribute_types)
        self.new: dict[str, str] = {}
        self.date_order = date_order
        self.default_country = default_country
        self.skip_invalid = invalid_values == "skip_value"

    def __call__(self, contact: Contact) -> tuple[dict[str, Any] | None, list[str]]:
        record, errors, new = contact_record(
            contact,
            self.types,
            date_order=self.date_order,
            default_country=self.default_country,
            skip_invalid=self.skip_invalid,
        )
        if record is None:
            return None, errors
        if new:
            if len(self.types) + len(new) > MAX_ATTRIBUTES:
                return None, [
                    f"a workspace has at most {MAX_ATTRIBUTES} custom attributes: this record"
                    f" would add {', '.join(repr(n) for n in new)}"
                ]
            self.types.update(new)
            self.new.update(new)
        for key in ("signed_up_at", "last_seen_at"):
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                record[key] = values.format_datetime(value)
        return record, []

    def take_new(self) -> dict[str, str]:
        """Attributes first seen since the last call, with their inferred types."""
        new, self.new = self.new, {}
        return new

    def settle(self, registered: Mapping[str, tuple[str, str]]) -> bool:
        """Adopt the spellings and types the database fixed for new attributes.

        Returns True when one differs from what was assumed (another import created it first),
        so the records validated since :meth:`take_new` must be validated again.
        """
        changed = False
        for name, (spelling, type_) in registered.items():
            if spelling != name or self.types.get(name) != type_:
                changed = True
                self.types.pop(name, None)
            self.types[spelling] = type_
        return changed
