"""Parsing and checking of person values (SPEC §2.1 identifiers, §2.2 values).

Pure functions over plain values, on the hot path of every import: no I/O. Every parser either
returns the normalised value or raises ``InvalidValue``, whose message is shown to the user as
is (it quotes the offending value, shortened, and says what to fix). Callers deal with blank
cells before calling, except ``parse_identifier``, which maps blank to None.

One module per kind of value: ``text`` (what no stored text may hold, ``fold``), ``emails``
(emails and identifiers), ``dates``, ``phones``, ``attributes`` (custom attribute names, type
inference, coercion) and ``names`` (names, tags, IP addresses, event names).
"""

from shared.errors import InvalidValue
from shared.values.attributes import check_attribute_name, coerce, infer_type
from shared.values.dates import format_datetime, iso_datetime, parse_datetime
from shared.values.emails import email_key, parse_email, parse_identifier
from shared.values.names import (
    normalize_event_name,
    normalize_name,
    parse_ip,
    parse_tag,
    split_tags,
)
from shared.values.phones import NO_COUNTRY_CODE, parse_phone
from shared.values.text import (
    ATTRIBUTE_TYPES,
    CASE_COLLATION,
    DATE_ORDERS,
    INT64_MAX,
    MAX_ATTRIBUTE_NAME,
    MAX_STRING,
    PLACEHOLDER_IDS,
    STANDARD_FIELDS,
    check_label,
    check_text,
    fold,
    storable,
)

__all__ = [
    "ATTRIBUTE_TYPES",
    "CASE_COLLATION",
    "DATE_ORDERS",
    "INT64_MAX",
    "MAX_ATTRIBUTE_NAME",
    "MAX_STRING",
    "NO_COUNTRY_CODE",
    "PLACEHOLDER_IDS",
    "STANDARD_FIELDS",
    "InvalidValue",
    "check_attribute_name",
    "check_label",
    "check_text",
    "coerce",
    "email_key",
    "fold",
    "format_datetime",
    "infer_type",
    "iso_datetime",
    "normalize_event_name",
    "normalize_name",
    "parse_datetime",
    "parse_email",
    "parse_identifier",
    "parse_ip",
    "parse_phone",
    "parse_tag",
    "split_tags",
    "storable",
]
