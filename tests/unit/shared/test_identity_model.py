"""The identity engine against a reference model under hypothesis: SPEC §2.1 read word by word
over a plain list of dicts, on random contacts and batches of records."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.identity import Index
from tests.unit.shared._identity_helpers import contact, make_engine

# ---------------------------------------------------------------- property: reference model

# The model reads SPEC §2.1 word by word over a plain list of dicts: no index, linear scans.


def _same_email(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def model_apply(
    people: list[dict[str, Any]], record: dict[str, Any], kind: str, tag: str | None
) -> tuple[str, int | None]:
    """Apply one record to `people` in place; returns (result, position of the contact)."""
    email = record.get("email")
    user_id = record.get("user_id")

    def update(i: int) -> tuple[str, int | None]:
        person = people[i]
        if email is not None:
            person["email"] = email
        if "name" in record:
            person["name"] = record["name"]
        for name in [*(record.get("tags") or []), *([tag] if tag else [])]:
            if name.lower() not in [t.lower() for t in person["tags"]]:
                person["tags"].append(name)
        return "updated", i

    def create(role: str) -> tuple[str, int | None]:
        people.append(
            {
                "role": role,
                "user_id": user_id if role == "user" else None,
                "email": email,
                "name": None,
                "tags": [],
            }
        )
        return "created", update(len(people) - 1)[1]

    if kind == "leads":
        if email is None:
            return "failed", None
        matches = [i for i, p in enumerate(people) if _same_email(p["email"], email)]
        if len(matches) > 1:
            return "failed", None
        if len(matches) == 1:
            return update(matches[0])
        return create("lead")

    if user_id is not None:
        # rule 1
        holders = [
            i for i, p in enumerate(people) if p["role"] == "user" and p["user_id"] == user_id
        ]
        if holders:
            return update(holders[0])
        # rule 2
        anonymous = [
            i
            for i, p in enumerate(people)
            if p["user_id"] is None and _same_email(p["email"], email)
        ]
        if len(anonymous) == 1:
            people[anonymous[0]]["user_id"] = user_id
            people[anonymous[0]]["role"] = "user"
            return update(anonymous[0])
        # rule 3
        return create("user")

    # rule 4
    if email is None:
        return "failed", None
    same = [
        i for i, p in enumerate(people) if p["role"] == "user" and _same_email(p["email"], email)
    ]
    if len(same) > 1:
        return "failed", None
    if len(same) == 1:
        return update(same[0])
    return create("user")


USER_IDS = ["u1", "u2", "u3"]
EMAILS = ["a@x.io", "A@x.io", "a@X.IO", "b@x.io", "B@x.io", "c@x.io"]
NAMES = ["Ann", "Bob", None]
TAG_NAMES = ["VIP", "vip", "Gold"]


@st.composite
def initial_people(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Contacts satisfying the invariants: user_ids unique among users, leads have none."""
    people: list[dict[str, Any]] = []
    free_ids = list(USER_IDS)
    for _ in range(draw(st.integers(0, 5))):
        role = draw(st.sampled_from(["user", "lead"]))
        user_id = None
        if role == "user" and free_ids and draw(st.booleans()):
            user_id = free_ids.pop(draw(st.integers(0, len(free_ids) - 1)))
        email_pool = EMAILS if role == "lead" or user_id is None else [*EMAILS, None]
        people.append(
            {
                "role": role,
                "user_id": user_id,
                "email": draw(st.sampled_from(email_pool)),
                "name": draw(st.sampled_from(NAMES)),
                "tags": draw(st.lists(st.sampled_from(["VIP", "Gold"]), max_size=2, unique=True)),
            }
        )
    return people


@st.composite
def records(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["users", "users", "leads"]))
    record: dict[str, Any] = {}
    if kind == "users" and draw(st.booleans()):
        record["user_id"] = draw(st.sampled_from(USER_IDS))
    email = draw(st.sampled_from([*EMAILS, None]))
    if email is not None:
        record["email"] = email
    elif draw(st.booleans()):
        record["email"] = None
    if draw(st.booleans()):
        record["name"] = draw(st.sampled_from(NAMES))
    if draw(st.booleans()):
        record["tags"] = draw(st.lists(st.sampled_from(TAG_NAMES), max_size=3))
    return kind, record


def _engine_state(index: Index) -> list[tuple[Any, ...]]:
    return [(c.role, c.user_id, c.email, c.name, list(c.tags)) for c in index.by_id.values()]


def _model_state(people: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["role"], p["user_id"], p["email"], p["name"], p["tags"]) for p in people]


@settings(max_examples=600, deadline=None)
@given(
    initial_people(),
    st.lists(records(), max_size=12),
    st.sampled_from([None, "imp", "VIP"]),
)
def test_engine_matches_reference_model(
    people: list[dict[str, Any]], batch: list[tuple[str, dict[str, Any]]], tag: str | None
) -> None:
    contacts = [
        contact(f"c{i}", p["role"], p["user_id"], p["email"], name=p["name"], tags=list(p["tags"]))
        for i, p in enumerate(people, 1)
    ]
    engine = make_engine(contacts)
    model = [{**p, "tags": list(p["tags"])} for p in people]
    for kind, record in batch:
        outcome = engine.apply(dict(record), kind, tag)  # type: ignore[arg-type]
        expected, position = model_apply(model, record, kind, tag)
        assert outcome.result == expected, (kind, record)
        ids = list(engine.index.by_id)
        if position is None:
            assert outcome.contact is None and outcome.errors
        else:
            assert outcome.contact is not None
            assert ids.index(outcome.contact.id) == position, (kind, record)
        assert _engine_state(engine.index) == _model_state(model), (kind, record)
    # The index agrees with the contacts it holds.
    for c in engine.index.by_id.values():
        if c.email is not None:
            assert c in engine.index.with_email(c.email)
        if c.user_id is not None:
            assert engine.index.by_user_id[c.user_id] is c
    for key, bucket in engine.index.by_email.items():
        assert all(c.email is not None and c.email.lower() == key for c in bucket.values())
