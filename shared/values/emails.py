"""Emails and identifiers (SPEC §2.1)."""

from __future__ import annotations

import re
from typing import Final

from shared.errors import InvalidValue
from shared.values.text import (
    _EMAIL_BAD_RE,
    MAX_STRING,
    PLACEHOLDER_IDS,
    _describe,
    _show,
    check_label,
    fold,
)

_LOCAL_CHAR = r"[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f-\x9f]"
_ALNUM, _WORD, _ALPHA = r"[^\W_]", r"[\w-]", r"[^\W\d_]"


def _email_pattern(local: str, alnum: str, word: str, alpha: str) -> str:
    """The address syntax of :func:`parse_email`, given its character classes."""
    label = rf"{alnum}(?:{word}{{0,61}}{alnum})?"
    tld = rf"(?:{alpha}{{2,63}}|[Xx][Nn]--[A-Za-z0-9-]{{1,59}})"
    return rf"{local}{{1,64}}(?:\.{local}+)*@(?:{label}\.)+{tld}"


def _ascii_class(pattern: str) -> str:
    """The ASCII characters the one-character ``pattern`` matches, as a class of ``\\xNN``
    escapes that RE2 (pyarrow's kernels) and Python read alike."""
    taken = [c for c in map(chr, range(128)) if re.fullmatch(pattern, c) is not None]
    return "[" + "".join(f"\\x{ord(c):02x}" for c in taken) + "]"


_EMAIL_RE = re.compile(_email_pattern(_LOCAL_CHAR, _ALNUM, _WORD, _ALPHA))
# The same syntax over ASCII addresses only, anchored, for a whole column at once
# (shared.values.columns): each class holds exactly the ASCII characters of the one above.
EMAIL_ASCII_PATTERN: Final = (
    "^" + _email_pattern(*map(_ascii_class, (_LOCAL_CHAR, _ALNUM, _WORD, _ALPHA))) + "$"
)


def parse_email(raw: str) -> str:
    """Return `raw` trimmed, case preserved, if it is a syntactically valid address.

    Accepts dot-atom local parts (no quoting) of at most 64 characters, a domain of dot-separated
    labels ending in an alphabetic (or `xn--`) top-level domain, and at most 254 characters in
    all. No DNS look-up. Raises InvalidValue, e.g. "'foo@' is not a valid email address".
    """
    email = raw.strip()
    if len(email) <= 254 and _EMAIL_RE.fullmatch(email) is not None:
        local = email.partition("@")[0]
        if len(local) <= 64 and (email.isascii() or _EMAIL_BAD_RE.search(email) is None):
            return email
    raise InvalidValue(_email_problem(email))


def _email_problem(email: str) -> str:
    if not email:
        return "the email address is blank"
    base = f"{_show(email)} is not a valid email address"
    bad = _EMAIL_BAD_RE.search(email)
    if bad is not None:
        return f"{base}: it contains {_describe(bad[0])}"
    if len(email) > 254:
        return f"{base}: it is {len(email)} characters long, at most 254 are allowed"
    if "@" not in email:
        return f"{base}: it has no '@'"
    if any(c.isspace() for c in email) or "," in email or ";" in email:
        return f"{base}: give one address per cell, without spaces"
    local, _, domain = email.rpartition("@")
    if not domain:
        return f"{base}: it has nothing after '@'"
    if local and "." not in domain:
        return f"{base}: the part after '@' needs a dot, as in example.com"
    return base


def email_key(email: str) -> str:
    """The key under which emails are compared: trimmed and lower-cased with :func:`fold`, as
    the database's ``lower(email COLLATE pg_c_utf8)``."""
    return fold(email.strip())


def parse_identifier(raw: str, field: str = "user_id") -> str | None:
    """Return the trimmed identifier, or None when blank (the record has no such id).

    Raises InvalidValue for a placeholder (one of PLACEHOLDER_IDS, case-insensitive) and for a
    value longer than MAX_STRING characters; `field` names the identifier in the message.
    """
    value = raw.strip()
    if not value:
        return None
    check_label(value, field)
    if len(value) <= 9 and value.lower() in PLACEHOLDER_IDS:
        raise InvalidValue(
            f"{field} {_show(value)} is a placeholder, not a real id: "
            "leave the cell blank or give the real id"
        )
    if len(value) > MAX_STRING:
        raise InvalidValue(
            f"{field} {_show(value)} is {len(value)} characters long: "
            f"at most {MAX_STRING} are allowed"
        )
    return value
