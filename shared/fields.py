"""The standard fields of a person (SPEC §2), in one registry that every rule reads.

Which fields exist, how the filter language compares them, which a CSV column can be mapped
to, which the JSON API writes, and what the UI calls them — the identity engine, the filter
language, the custom-attribute name rules, the JSON validation, the start validation and the web
UI (through ``GET /api/meta``) all derive their lists from :data:`FIELDS`. Adding a standard
field is one entry here (and a column in a migration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["text", "number", "date", "boolean"]


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # what the UI calls it
    kind: Kind | None = None  # how the filter language compares it; None: not a filter field
    mappable: bool = False  # a CSV column can be mapped to it (``start`` body ``mapping``)
    writable: bool = False  # a key of the JSON contact (POST /api/users, bulk, vendors)
    profile: bool = False  # a plain value the identity engine sets (not an identifier)


# In the order the UI offers them (and column suggestions are made).
FIELDS: Final = (
    Field("id", "Usher id", "text"),
    Field("role", "Role (user or lead)", "text", writable=True),
    Field("email", "Email", "text", mappable=True, writable=True),
    Field("user_id", "User ID", "text", mappable=True, writable=True),
    Field("name", "Name", "text", mappable=True, writable=True, profile=True),
    Field("signed_up_at", "Sign-up date", "date", mappable=True, writable=True, profile=True),
    Field("phone", "Phone", "text", mappable=True, writable=True, profile=True),
    Field("last_seen_at", "Last seen", "date", mappable=True, writable=True, profile=True),
    Field("last_seen_ip", "Last seen IP", "text", mappable=True, writable=True, profile=True),
    Field("created_at", "Created in Usher", "date"),
    Field("updated_at", "Updated in Usher", "date"),
    Field("tags", "Tags", mappable=True, writable=True),
    Field("custom_attributes", "Custom attributes", writable=True),
)
# Mapping targets that are not fields of their own: a last-name column joined to ``name``.
MAPPING_EXTRAS: Final = (Field("name_last", "Last name", mappable=True),)

BY_NAME: Final = {f.name: f for f in FIELDS}
NAMES: Final = frozenset(BY_NAME)  # reserved: no custom attribute may be called so
FILTERABLE: Final[dict[str, Kind]] = {f.name: f.kind for f in FIELDS if f.kind is not None}
MAPPABLE: Final = tuple(f.name for f in FIELDS if f.mappable)
MAPPING_TARGETS: Final = MAPPABLE + tuple(f.name for f in MAPPING_EXTRAS)
WRITABLE: Final = frozenset(f.name for f in FIELDS if f.writable)
PROFILE: Final = tuple(f.name for f in FIELDS if f.profile)
DATES: Final = tuple(f.name for f in FIELDS if f.kind == "date")
