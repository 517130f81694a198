"""Records that collide with nothing, created as states (``Engine.solitary``,
``Engine.create_solitary``): a batch applied that way ends exactly as one applied record by
record through ``Engine.apply``, under hypothesis, on random contacts and batches."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.identity import (
    Contact,
    ContactView,
    Engine,
    Kind,
    StateView,
    contact_of,
    created_matching,
    snapshot,
    state_snapshot,
)
from shared.values import email_key
from tests.unit.shared._identity_helpers import NOW, contact, make_engine
from tests.unit.shared.test_identity_model import initial_people

USER_IDS = ["u1", "u2", "u3", "u4", "u5", "u6"]
EMAILS = ["a@x.io", "A@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io", "f@x.io"]


@st.composite
def batch_records(draw: st.DrawFn, kind: Kind) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if draw(st.booleans()):
        record["user_id"] = draw(st.sampled_from(USER_IDS))
    email = draw(st.sampled_from([*EMAILS, None]))
    if email is not None:
        record["email"] = email
    if draw(st.booleans()):
        record["name"] = draw(st.sampled_from(["Ann", "Bob", None]))
    if draw(st.booleans()):
        record["tags"] = draw(st.lists(st.sampled_from(["VIP", "vip", "Gold"]), max_size=2))
    if draw(st.booleans()):
        record["custom"] = {"plan": draw(st.sampled_from(["free", "pro", None]))}
    return record


def _contacts(people: list[dict[str, Any]]) -> list[Contact]:
    return [
        contact(f"c{i}", p["role"], p["user_id"], p["email"], name=p["name"], tags=list(p["tags"]))
        for i, p in enumerate(people, 1)
    ]


def _people(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Every contact the engine holds, created states included, as comparable tuples."""
    everyone = dict(engine.index.by_id)
    everyone.update((cid, contact_of(state, True)) for cid, state in engine.created.items())
    return {cid: tuple(snapshot(c).values()) for cid, c in everyone.items()}


@settings(max_examples=500, deadline=None)
@given(
    initial_people(),
    st.sampled_from(["users", "leads"]),
    st.data(),
    st.sampled_from([None, "imp"]),
)
def test_solitary_records_end_as_record_by_record(
    people: list[dict[str, Any]], kind: Kind, data: st.DataObject, tag: str | None
) -> None:
    batch = data.draw(st.lists(batch_records(kind), max_size=10))
    excluded = data.draw(st.sets(st.integers(0, max(len(batch) - 1, 0)), max_size=2))
    one_by_one = make_engine(_contacts(people))
    expected = [one_by_one.apply(dict(r), kind, tag) for r in batch]

    engine = make_engine(_contacts(people))
    alone = engine.solitary(batch, kind, excluded)
    got = [
        engine.create_solitary(dict(r), kind, tag) if alone[i] else engine.apply(dict(r), kind, tag)
        for i, r in enumerate(batch)
    ]

    assert [o.result for o in got] == [o.result for o in expected]
    assert [o.contact_id for o in got] == [o.contact_id for o in expected]
    for i, outcome in enumerate(got):
        if alone[i]:
            assert i not in excluded
            assert outcome.result == "created" and outcome.contact is None
    assert _people(engine) == _people(one_by_one)
    assert set(engine.changed_ids()) == set(one_by_one.changed)
    # What a created state is judged on and written as is the contact apply made.
    for cid, state in engine.created.items():
        made = one_by_one.index.by_id[cid]
        assert dict(StateView(state)) == dict(ContactView(made, {}))
        assert state_snapshot(state) == snapshot(made, copy=False)


def test_what_is_not_solitary() -> None:
    existing = contact("c1", "user", "u1", "a@x.io")
    engine = make_engine([existing])
    batch = [
        {"user_id": "u1"},  # an existing user_id
        {"email": "A@X.io"},  # an existing email, in another case
        {"user_id": "u2", "email": "b@x.io"},  # b@x.io comes again below
        {"email": "B@x.io"},
        {"user_id": "u3"},  # u3 comes again below
        {"user_id": "u3", "email": "c@x.io"},
        {"name": "nobody"},  # neither key: the rules fail it
        {"user_id": "u4", "email": "d@x.io"},  # solitary
        {"email": "e@x.io"},  # solitary, but excluded
    ]
    assert engine.solitary(batch, "users", {8}) == [*[False] * 7, True, False]
    # For leads the user_id is no identity: only the emails count.
    assert engine.solitary([{"user_id": "u1", "email": "z@x.io"}], "leads") == [True]


def test_a_created_state_is_found_by_the_next_batch() -> None:
    engine = make_engine([])
    records: list[dict[str, Any]] = [
        {"user_id": "n1", "email": "n@x.io"},
        {"email": "m@x.io"},
        {"user_id": "n3"},
    ]
    for record in records:
        engine.create_solitary(record, "users")
    found = created_matching(engine.created, engine.index, ["n3"], {email_key("M@x.io")})
    assert {(c.user_id, c.email) for c in found} == {(None, "m@x.io"), ("n3", None)}
    assert all(not c.is_new and c.created_at == NOW for c in found)
