"""What the identity tests share: a fixed now, contacts and engines built in memory, and a case
table (records in, outcomes and contacts out) with the runner that checks it.

Contacts given in a case have ids ``c1``, ``c2``…; contacts the engine creates get ``n1``, ``n2``…
in order of creation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.identity import Contact, Engine, Index, Kind, Outcome

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = datetime(2020, 1, 1, tzinfo=UTC)


def contact(
    cid: str, role: str, user_id: str | None = None, email: str | None = None, **kw: Any
) -> Contact:
    kw.setdefault("created_at", EARLIER)
    kw.setdefault("updated_at", EARLIER)
    return Contact(id=cid, role=role, user_id=user_id, email=email, **kw)


def make_engine(
    contacts: Sequence[Contact], canonical_tag: Callable[[str], str] | None = None
) -> Engine:
    counter = itertools.count(1)
    kwargs: dict[str, Any] = {}
    if canonical_tag is not None:
        kwargs["canonical_tag"] = canonical_tag
    return Engine(Index(contacts), now=NOW, new_id=lambda: f"n{next(counter)}", **kwargs)


def users(**record: Any) -> tuple[Kind, dict[str, Any]]:
    return "users", record


def leads(**record: Any) -> tuple[Kind, dict[str, Any]]:
    return "leads", record


@dataclass
class Case:
    initial: list[Contact]
    records: list[tuple[Kind, dict[str, Any]]]
    # "created:n1", "updated:c1" or "failed:<substring of the error>"
    outcomes: list[str]
    # id -> the fields to check on that contact at the end (every other id must be unchanged)
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)
    tag: str | None = None


def snapshot(c: Contact) -> dict[str, Any]:
    return {
        "role": c.role,
        "user_id": c.user_id,
        "email": c.email,
        "name": c.name,
        "phone": c.phone,
        "signed_up_at": c.signed_up_at,
        "last_seen_at": c.last_seen_at,
        "last_seen_ip": c.last_seen_ip,
        "tags": list(c.tags),
        "custom": dict(c.custom),
    }


def check_outcome(outcome: Outcome, expected: str) -> None:
    result, _, detail = expected.partition(":")
    assert outcome.result == result, (outcome, expected)
    if result == "failed":
        assert outcome.contact is None
        assert any(detail in error for error in outcome.errors), outcome.errors
    else:
        assert outcome.contact is not None
        assert outcome.contact.id == detail
        assert not outcome.errors


def run_case(case: Case) -> Engine:
    before = {c.id: snapshot(c) for c in case.initial}
    engine = make_engine(case.initial)
    assert len(case.records) == len(case.outcomes)
    for (kind, record), expected in zip(case.records, case.outcomes, strict=True):
        check_outcome(engine.apply(record, kind, case.tag), expected)
    created = {e.partition(":")[2] for e in case.outcomes if e.startswith("created:")}
    assert set(engine.index.by_id) == set(before) | created
    for cid, c in engine.index.by_id.items():
        now = snapshot(c)
        if cid in case.expect:
            for key, value in case.expect[cid].items():
                assert now[key] == value, (cid, key)
        else:
            assert cid in before, f"created contact {cid} has no expectation"
            assert now == before[cid], f"{cid} should be unchanged"
    return engine


def table(cases: Mapping[str, Case]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", list(cases.values()), ids=list(cases))
