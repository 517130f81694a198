"""Pure checks of the chaos run's deliveries: what the receivers accepted, what the database holds.

At the receivers, per channel, the keys accepted (a 2xx answer, an accepted mail) must be the
expected keys (``<message_id>:<contact_id>`` of each person in the audience), each accepted once.
A key accepted again is told apart by what happened between the two acceptances:

* ``resent_after_kill``: a messenger process died (SIGKILLed by the harness, or exited on its own)
  at or after the arrival of the earlier accepted request and at or before the arrival of the
  later one. The sender may not have heard the first answer, or died before it recorded it:
  sending again with the same key is what the design promises, and receivers deduplicate on it.
* ``duplicated``: no messenger death in between: a sender that knew the delivery was done sent it
  again. Each such pair is also attributed to the other faults that fell in between (a database
  restart, a broker kill) or to ``none``, to say where to look.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChannelVerdict:
    expected: int
    delivered: int  # expected keys accepted at least once
    missing: int  # expected keys never accepted
    duplicated: int  # acceptances of a key again, with no messenger death in between
    resent_after_kill: int  # acceptances of a key again after a messenger death
    unexpected: int = 0  # keys accepted that nobody expected
    duplicated_between: dict[str, int] = field(default_factory=dict)  # fault kind -> pairs
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unexpected)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expected": self.expected,
            "delivered": self.delivered,
            "missing": self.missing,
            "duplicated": self.duplicated,
            "resent_after_kill": self.resent_after_kill,
            "unexpected": self.unexpected,
        }
        if self.duplicated_between:
            out["duplicated_between"] = dict(self.duplicated_between)
        return out


def _between(times: Sequence[float], start: float, end: float) -> bool:
    return any(start <= t <= end for t in times)


def classify(
    expected: Iterable[str],
    accepted: Iterable[tuple[str | None, float]],
    messenger_deaths: Sequence[float],
    other_faults: Mapping[str, Sequence[float]] | None = None,
    examples: int = 5,
) -> ChannelVerdict:
    """``accepted``: (key, arrival time of the accepted request), in any order; times on one
    clock with ``messenger_deaths`` and ``other_faults`` (kind -> times)."""
    wanted = set(expected)
    times: dict[str, list[float]] = {}
    for key, at in accepted:
        if key is not None:
            times.setdefault(key, []).append(at)
    duplicated = resent = 0
    between: Counter[str] = Counter()
    doubled: list[str] = []
    for key, seen in times.items():
        seen.sort()
        for earlier, later in itertools.pairwise(seen):
            if _between(messenger_deaths, earlier, later):
                resent += 1
                continue
            duplicated += 1
            doubled.append(key)
            kinds = [k for k, ts in (other_faults or {}).items() if _between(ts, earlier, later)]
            for kind in kinds or ["none"]:
                between[kind] += 1
    missing = sorted(wanted - times.keys())
    unexpected = sorted(times.keys() - wanted)
    return ChannelVerdict(
        expected=len(wanted),
        delivered=len(wanted & times.keys()),
        missing=len(missing),
        duplicated=duplicated,
        resent_after_kill=resent,
        unexpected=len(unexpected),
        duplicated_between=dict(between),
        examples={
            name: keys[:examples]
            for name, keys in (
                ("missing", missing),
                ("duplicated", sorted(set(doubled))),
                ("unexpected", unexpected),
            )
            if keys
        },
    )


@dataclass
class StoredVerdict:
    """The deliveries table for one message against its expected audience."""

    expected: int
    delivered: int  # expected people with exactly one row, and it is 'delivered'
    missing: list[Any]  # expected people without a row
    doubled: int  # rows beyond the first for one expected person
    unexpected: list[Any]  # people with a row who were not expected
    not_delivered: dict[str, int]  # rows of expected people in another status, by status

    @property
    def ok(self) -> bool:
        return not (self.missing or self.doubled or self.unexpected or self.not_delivered)


def stored(expected: Iterable[Any], rows: Iterable[tuple[Any, str]]) -> StoredVerdict:
    """``rows``: (person, status) of each delivery row of the message; ``person`` is whatever
    ``expected`` holds (the harness maps contact ids to the model's keys)."""
    wanted = set(expected)
    per_person: Counter[Any] = Counter()
    statuses: dict[Any, list[str]] = {}
    for person, status in rows:
        per_person[person] += 1
        statuses.setdefault(person, []).append(status)
    missing = [p for p in wanted if per_person[p] == 0]
    doubled = sum(n - 1 for p, n in per_person.items() if p in wanted and n > 1)
    unexpected = [p for p in per_person if p not in wanted]
    not_delivered = Counter(s for p in wanted for s in statuses.get(p, []) if s != "delivered")
    delivered = sum(1 for p in wanted if statuses.get(p) == ["delivered"])
    return StoredVerdict(
        expected=len(wanted),
        delivered=delivered,
        missing=missing,
        doubled=doubled,
        unexpected=unexpected,
        not_delivered=dict(not_delivered),
    )
