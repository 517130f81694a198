"""The other standard fields: names, tags (and cells of tags), IP addresses, event names."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from typing import Final

from shared.errors import InvalidValue
from shared.values.text import MAX_STRING, _show, check_label


def normalize_name(raw: str) -> str:
    """The trimmed name ('' when blank); InvalidValue when longer than 255 characters or when it
    holds a character :func:`check_label` refuses (a line break, a bidi override)."""
    name = raw.strip()
    if len(name) > MAX_STRING:
        raise InvalidValue(
            f"name {_show(name)} is {len(name)} characters long: at most {MAX_STRING} are allowed"
        )
    return check_label(name, "name")


def parse_tag(raw: str) -> str:
    """The trimmed tag name ('' when blank); InvalidValue when longer than 255 characters or
    when it holds a character :func:`check_label` refuses."""
    tag = raw.strip()
    if len(tag) > MAX_STRING:
        raise InvalidValue(
            f"tag {_show(tag)} is {len(tag)} characters long: at most {MAX_STRING} are allowed"
        )
    return check_label(tag, "tag")


_IPV4_RE = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)


def parse_ip(raw: str) -> str:
    """The trimmed IPv4 or IPv6 address in its canonical form ('::1', '192.0.2.1').

    Raises InvalidValue for anything else (including IPv4 with leading zeros, '01.2.3.4').
    """
    text = raw.strip()
    if _IPV4_RE.fullmatch(text) is not None:  # the common case, without the ipaddress module
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidValue(f"{_show(text)} is not an IPv4 or IPv6 address") from None


def normalize_event_name(raw: str) -> str:
    """The event name trimmed and lower-cased, with '.' and '$' replaced by '-'.

    Raises InvalidValue when blank or longer than 255 characters.
    """
    name = raw.strip().lower().replace(".", "-").replace("$", "-")
    if not name:
        raise InvalidValue("the event name is blank")
    check_label(name, "the event name")
    if len(name) > MAX_STRING:
        raise InvalidValue(
            f"event name {_show(name)} is {len(name)} characters long: "
            f"at most {MAX_STRING} are allowed"
        )
    return name


_NEWLINE: Final = re.compile(r"\r\n|\r|\n")


def split_tags(cell: str) -> list[str]:
    """Tag names in one cell, in order: comma-separated ('VIP, Gold') or quoted the way
    MailChimp writes them ('"Customer","VIP, Gold"' -> ['Customer', 'VIP, Gold']).

    Names are trimmed, empty ones dropped, and repeats (compared case-insensitively) dropped,
    keeping the first spelling. Line breaks outside quotes separate names too. A name that
    :func:`parse_tag` refuses (too long, a control character) raises InvalidValue.
    """
    if not cell or cell.isspace():
        return []
    if '"' in cell:
        rows = csv.reader(io.StringIO(cell, newline=""), skipinitialspace=True)
        parts = [part for row in rows for part in row]
    else:
        parts = _NEWLINE.sub(",", cell).split(",")
    tags: list[str] = []
    seen: set[str] = set()
    for part in parts:
        tag = parse_tag(part)
        key = tag.casefold()
        if tag and key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags
