"""The rules of messages as pure functions: what a subject or body may hold (shared.templates,
with the workspace's attributes), when an edit makes a new version, which changes an archived
message allows, what status a message reads as, and what a copy is called. No I/O; unit-tested
(tests/unit/upload/test_messaging.py). When a change sends a message is ``rules.activates``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared import templates

CONTENT = ("subject", "body", "audience", "webhook_url")  # what a new version is made of
TEMPLATE_FIELDS = ("subject", "body")
COPY_PREFIX = "Copy of "
MAX_NAME = 200


def template_problems(
    texts: Mapping[str, str | None], attributes: Iterable[str]
) -> list[dict[str, str]]:
    """Every problem of the subject and body in ``texts`` (those given), each as ``{"field",
    "message"}``, given the workspace's custom ``attributes``."""
    names = list(attributes)
    return [
        {"field": field, "message": problem}
        for field in TEMPLATE_FIELDS
        if field in texts
        for problem in templates.problems(texts[field], names)
    ]


def template_refusal(problems: list[dict[str, str]]) -> str:
    """The 422's message for template problems: the one problem, or how many and the first."""
    first = f"{problems[0]['field']}: {problems[0]['message']}"
    if len(problems) == 1:
        return first
    return f"the subject and body have {len(problems)} problems; the first: {first}"


def new_version(message: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Whether ``changes`` alter the message's content (not its name or state): the edit is
    then a new version, and the old one is kept with what was delivered of it."""
    return any(key in changes and changes[key] != message[key] for key in CONTENT)


def archive_problem(message: Mapping[str, Any], changes: Mapping[str, Any]) -> str | None:
    """What is wrong with ``changes`` to an archived message: only restoring it (state
    "paused") is allowed, alone."""
    if message["state"] != "archived":
        return None
    if changes == {"state": "paused"} or not changes:
        return None
    return (
        f'“{message["name"]}” is archived: restore it first (state "paused"), then edit it'
        " or make it live"
    )


@dataclass(frozen=True)
class Counts:
    """A message's deliveries by status."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, by_status: Mapping[str, int]) -> Counts:
        return cls(**{k: int(v) for k, v in by_status.items() if k in cls.__dataclass_fields__})

    @property
    def total(self) -> int:
        """Deliveries made or to be made (cancelled ones left out)."""
        return self.pending + self.delivered + self.failed


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


def _deliveries(n: int) -> str:
    return f"{n:,} {'delivery' if n == 1 else 'deliveries'}"


def status(message: Mapping[str, Any], counts: Counts) -> tuple[str, str]:
    """``(status, text)`` a message reads as, from its state and its deliveries.

    ``draft`` (paused, never live), ``paused``, ``archived``; a live auto message is ``live``;
    a live manual message — sent once — is ``sending`` while deliveries wait, then ``failed``
    when every one failed, else ``sent`` (saying how many failed, if any). A live manual
    message with no deliveries yet is ``live``: the messenger has not reached it, or nobody
    matched. Example: a manual message whose 5 emails all failed is ("failed", "Failed — 5 of 5
    deliveries failed"), not "Live".
    """
    state = message["state"]
    failed = f" — {counts.failed:,} of {_deliveries(counts.total)} failed" if counts.failed else ""
    if state == "archived":
        return "archived", "Archived"
    if state == "paused":
        if message["activated_at"] is None:
            return "draft", "Draft — not live yet"
        return "paused", f"Paused{failed}"
    if message["type"] == "auto":
        return "live", f"Live{failed}"
    if counts.total == 0:
        return "live", "Live — no deliveries yet"
    if counts.pending:
        done = counts.delivered + counts.failed
        return "sending", f"Sending — {done:,} of {counts.total:,} done"
    if counts.failed == counts.total:
        return "failed", f"Failed — {counts.failed:,} of {_deliveries(counts.total)} failed"
    if counts.failed:
        return "sent", f"Sent to {_people(counts.delivered)}{failed}"
    return "sent", f"Sent to {_people(counts.delivered)}"


def copy_name(name: str) -> str:
    """The name of a duplicate: "Copy of <name>", cut to the longest name allowed."""
    copied = name if name.startswith(COPY_PREFIX) else COPY_PREFIX + name
    return copied[:MAX_NAME]


def reach(matching: int, already: int, message: Mapping[str, Any] | None) -> int:
    """How many people going live sends the message to now: those who match and have not had
    it — none for a manual message that went live before (it is sent once)."""
    if message is not None and message["type"] == "manual" and message["activated_at"]:
        return 0
    return max(matching - already, 0)
