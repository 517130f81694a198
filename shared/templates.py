"""Message templates (SPEC §5): the one grammar, for rendering, checking and previewing.

A subject or body is text with placeholders in double braces::

    Hi {{first_name | fallback: "there"}}, your plan is {{custom.plan}}.

=====================  ==========================================================
placeholder            is replaced by
=====================  ==========================================================
``{{name}}``           the person's name
``{{first_name}}``     the first word of the name ("Zoe" for "Zoe Patel")
``{{email}}``          the email address
``{{custom.<name>}}``  the custom attribute ``<name>`` (its name compared without case)
=====================  ==========================================================

Any placeholder may end in a fallback, as Intercom writes it: ``| fallback: "there"`` (double
or single quotes; spaces are free around every part), used when the person has no value (or a
blank one). Without a fallback a missing value becomes the empty string.

:func:`parse` reads a template once (cached: every person of a chunk shares it) into text and
:class:`Placeholder` parts, and lists the :class:`Problem` s of its grammar: an unknown
placeholder, an unclosed ``{{``, an empty one, a fallback not in quotes. :func:`problems` adds
what depends on the workspace (a custom attribute it does not have); saving a message refuses a
template with any. :func:`render` fills the placeholders as plain text — no template code runs.
A template saved before these checks existed renders its faulty parts as they are written (as
the renderer before did), so nothing is dropped silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.values import fold

FIELDS = ("name", "first_name", "email")
CUSTOM = "custom."
ALLOWED = "{{name}}, {{first_name}}, {{email}} or {{custom.<attribute>}}"
EXAMPLE_FALLBACK = '{{name | fallback: "there"}}'
_SHOWN_ATTRIBUTES = 10  # a refusal lists at most this many of the workspace's attributes
_SHOWN_UNCLOSED = 24  # characters of an unclosed placeholder quoted in its problem

# What may stand between the braces: a field, then optionally "| <filter> [: <argument>]".
_INNER = re.compile(
    r"\s*(?P<path>[^|]*?)\s*(?:\|\s*(?P<filter>[^:]*?)\s*(?::\s*(?P<arg>.*?))?)?\s*"
)
_QUOTED = re.compile(r"\"(?P<double>[^\"]*)\"|'(?P<single>[^']*)'")


@dataclass(frozen=True)
class Placeholder:
    """One ``{{…}}`` as written (``source``), at ``start`` in the template."""

    source: str
    start: int
    field: str  # one of FIELDS, or "custom"
    attribute: str | None = None  # for "custom"
    fallback: str | None = None

    @property
    def key(self) -> str:
        """The placeholder without its fallback, as it would be written: ``{{custom.plan}}``."""
        return (
            "{{"
            + (CUSTOM + (self.attribute or "") if self.field == "custom" else self.field)
            + "}}"
        )

    def value(self, contact: Mapping[str, Any]) -> str | None:
        """The person's value as text, or None when they have none (or a blank one)."""
        if self.field == "custom":
            found = _attribute(contact.get("custom") or {}, self.attribute or "")
        elif self.field == "first_name":
            name = contact.get("name")
            found = name.split()[0] if isinstance(name, str) and name.split() else None
        else:
            found = contact.get(self.field)
        if found is None:
            return None
        text = ("true" if found else "false") if isinstance(found, bool) else str(found)
        return text if text.strip() else None


@dataclass(frozen=True)
class Problem:
    """What is wrong at ``start`` in a template; ``message`` says what to write instead."""

    start: int
    source: str
    message: str


@dataclass(frozen=True)
class Template:
    """A parsed template: its parts in order (text, placeholders, and the text of faulty
    placeholders kept as written) and its grammar's problems."""

    parts: tuple[str | Placeholder, ...]
    problems: tuple[Problem, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    def render(self, contact: Mapping[str, Any]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = part.value(contact)
                out.append(value if value is not None else (part.fallback or ""))
        return "".join(out)

    def missing(self, contact: Mapping[str, Any]) -> list[str]:
        """The placeholders that come out empty for this person (no value, no fallback), each
        once, as ``{{custom.seats}}``."""
        keys = [p.key for p in self.placeholders if p.fallback is None and p.value(contact) is None]
        return list(dict.fromkeys(keys))


@lru_cache(maxsize=128)
def parse(text: str) -> Template:
    """Read ``text`` into a :class:`Template` (never raises: problems are listed in it)."""
    parts: list[str | Placeholder] = []
    problems: list[Problem] = []
    literal: list[str] = []
    at = 0
    while True:
        opening = text.find("{{", at)
        if opening < 0:
            literal.append(text[at:])
            break
        literal.append(text[at:opening])
        closing = text.find("}}", opening + 2)
        reopening = text.find("{{", opening + 2)
        if closing < 0 or (0 <= reopening < closing):
            end = reopening if reopening >= 0 else len(text)
            shown = text[opening:end].rstrip()
            if len(shown) > _SHOWN_UNCLOSED:
                shown = shown[:_SHOWN_UNCLOSED] + "…"
            problems.append(
                Problem(opening, shown, f"“{shown}” is not closed: end the placeholder with }}}}")
            )
            literal.append(text[opening:end])
            at = end
            continue
        source = text[opening : closing + 2]
        found = _placeholder(source, opening)
        if isinstance(found, Problem):
            problems.append(found)
            literal.append(source)
        else:
            parts.append("".join(literal))
            literal = []
            parts.append(found)
        at = closing + 2
    parts.append("".join(literal))
    return Template(tuple(p for p in parts if p != ""), tuple(problems))


def _placeholder(source: str, start: int) -> Placeholder | Problem:
    """One ``{{…}}``: a placeholder, or the problem with it."""
    inner = source[2:-2]
    match = _INNER.fullmatch(inner)
    assert match is not None  # every group is optional: any text matches
    path, filter_, arg = match["path"], match["filter"], match["arg"]
    if not path:
        if filter_ is None:
            return Problem(
                start, source, f"{source} is empty: write a placeholder such as {{{{name}}}}"
            )
        return Problem(start, source, f"{source} names no value before “|”: {_usage()}")
    field, attribute = _field(path)
    if field is None:
        return Problem(start, source, _unknown(source, path))
    if attribute is not None and not attribute:
        return Problem(
            start, source, f"{source} names no attribute: write {{{{custom.<attribute>}}}}"
        )
    fallback = None
    if filter_ is not None:
        if filter_ != "fallback":
            return Problem(start, source, f"{source}: only a fallback can follow “|”, {_usage()}")
        quoted = _QUOTED.fullmatch(arg or "")
        if quoted is None:
            return Problem(start, source, f"{source}: put the fallback text in quotes, {_usage()}")
        fallback = quoted["double"] if quoted["double"] is not None else quoted["single"]
    return Placeholder(source, start, field, attribute, fallback)


def _field(path: str) -> tuple[str | None, str | None]:
    """``(field, attribute)`` of a placeholder's path; ``(None, None)`` for an unknown one."""
    if path in FIELDS:
        return path, None
    if path.startswith(CUSTOM):
        return "custom", path[len(CUSTOM) :].strip()
    return None, None


def _usage() -> str:
    return f"write it as in {EXAMPLE_FALLBACK}"


def _unknown(source: str, path: str) -> str:
    message = f"{source} is not a placeholder: use {ALLOWED}"
    candidates = [*FIELDS, "custom"]
    guess = difflib.get_close_matches(fold(path.split(".", 1)[0]), candidates, n=1, cutoff=0.6)
    if not guess:
        return message
    if guess[0] != "custom":
        return f"{message} (did you mean {{{{{guess[0]}}}}}?)"
    rest = path.split(".", 1)[1] if "." in path else "<attribute>"
    return f"{message} (did you mean {{{{custom.{rest}}}}}?)"


def _attribute(custom: Mapping[str, Any], name: str) -> Any:
    """A custom attribute's value by its name, compared without case (attribute names are
    case-insensitive, SPEC §2.2)."""
    if name in custom:
        return custom[name]
    folded = fold(name)
    return next((v for k, v in custom.items() if fold(k) == folded), None)


def problems(text: str | None, attributes: Iterable[str]) -> list[str]:
    """Every problem with ``text`` as a template of a workspace whose custom attributes are
    ``attributes``: its grammar's, then each custom placeholder the workspace has no attribute
    for. An empty list: the template can be saved."""
    if not text:
        return []
    template = parse(text)
    found = [p.message for p in template.problems]
    names = sorted(attributes, key=fold)
    known = {fold(n) for n in names}
    for placeholder in template.placeholders:
        name = placeholder.attribute
        if placeholder.field == "custom" and name is not None and fold(name) not in known:
            found.append(_no_attribute(placeholder.source, name, names))
    return list(dict.fromkeys(found))


def _no_attribute(source: str, name: str, names: list[str]) -> str:
    if not names:
        return f"{source}: the workspace has no custom attribute “{name}” (it has none yet)"
    by_fold = {fold(n): n for n in names}
    guess = difflib.get_close_matches(fold(name), list(by_fold), n=1, cutoff=0.6)
    hint = f" (did you mean {{{{custom.{by_fold[guess[0]]}}}}}?)" if guess else ""
    shown = ", ".join(names[:_SHOWN_ATTRIBUTES])
    if len(names) > _SHOWN_ATTRIBUTES:
        shown += f" and {len(names) - _SHOWN_ATTRIBUTES} more"
    return f"{source}: the workspace has no custom attribute “{name}”{hint}; it has {shown}"


def render(text: str | None, contact: Mapping[str, Any]) -> str:
    """``text`` filled in for ``contact`` (a mapping with ``name``, ``email``, ``custom``)."""
    if not text:
        return ""
    return parse(text).render(contact)


__all__ = [
    "ALLOWED",
    "FIELDS",
    "Placeholder",
    "Problem",
    "Template",
    "parse",
    "problems",
    "render",
]
