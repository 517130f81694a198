"""The identity engine applying a record to a contact chosen by id (``Engine.apply_to``): a
conflict resolved (SPEC §6.4) and the contact an API call names (``PUT /intercom/contacts/{id}``)
— a lead made a user, a user_id set, an identity another contact has refused, tags taken off."""

from __future__ import annotations

from shared.identity import Contact
from tests.unit.shared._identity_helpers import contact, make_engine


def apply(contacts: list[Contact], target: str, record: dict, kind: str = "users"):  # type: ignore[no-untyped-def]
    engine = make_engine(contacts)
    chosen = engine.index.by_id[target]
    return engine, engine.apply_to(chosen, record, kind)  # type: ignore[arg-type]


def test_a_lead_becomes_a_user_with_its_user_id() -> None:
    engine, outcome = apply([contact("c1", "lead", None, "a@x.io")], "c1", {"user_id": "u1"})
    assert outcome.result == "updated" and outcome.contact is not None
    assert (outcome.contact.role, outcome.contact.user_id) == ("user", "u1")
    assert outcome.changes == {"role": ("lead", "user"), "user_id": (None, "u1")}
    assert engine.index.by_user_id["u1"] is outcome.contact


def test_a_users_user_id_is_replaced_and_the_old_one_freed() -> None:
    engine, outcome = apply([contact("c1", "user", "u1", "a@x.io")], "c1", {"user_id": "u2"})
    assert outcome.result == "updated"
    assert outcome.changes == {"user_id": ("u1", "u2")}
    assert "u1" not in engine.index.by_user_id and engine.index.by_user_id["u2"].id == "c1"


def test_a_user_id_another_user_has_is_refused() -> None:
    people = [contact("c1", "user", "u1", "a@x.io"), contact("c2", "user", "u2", "b@x.io")]
    engine, outcome = apply(people, "c1", {"user_id": "u2", "name": "X"})
    assert outcome.result == "failed" and outcome.candidates == ("c2",)
    assert "user_id 'u2' belongs to another contact (c2)" in outcome.errors[0]
    assert engine.index.by_id["c1"].name is None and not engine.changed


def test_an_email_another_contact_has_is_refused_without_a_user_id() -> None:
    people = [contact("c1", "lead", None, "a@x.io"), contact("c2", "user", None, "b@x.io")]
    _, outcome = apply(people, "c1", {"email": "B@x.io"}, "leads")
    assert outcome.result == "failed" and outcome.candidates == ("c2",)
    # With a user_id the email is not the identity: users may share one (rule 3).
    people = [contact("c1", "user", "u1", "a@x.io"), contact("c2", "user", None, "b@x.io")]
    _, outcome = apply(people, "c1", {"email": "b@x.io"})
    assert outcome.result == "updated" and outcome.changes == {"email": ("a@x.io", "b@x.io")}


def test_the_same_email_in_another_case_is_not_a_new_email() -> None:
    """A conflict resolved: the record's email is the one the candidates share."""
    people = [contact("c1", "user", None, "a@x.io"), contact("c2", "user", None, "a@x.io")]
    _, outcome = apply(people, "c2", {"email": "A@x.io", "name": "Ann"})
    assert outcome.result == "updated" and outcome.contact is not None
    assert outcome.contact.name == "Ann"


def test_leads_ignore_a_user_id_and_stay_leads() -> None:
    _, outcome = apply([contact("c1", "lead", None, "a@x.io")], "c1", {"user_id": "u1"}, "leads")
    assert outcome.result == "updated" and outcome.contact is not None
    assert (outcome.contact.role, outcome.contact.user_id) == ("lead", None)
    assert outcome.changes == {}


def test_untag_takes_tags_off_in_any_case() -> None:
    people = [contact("c1", "user", "u1", "a@x.io", tags=["VIP", "beta"])]
    _, outcome = apply(people, "c1", {"untag": ["vip", "nope"]})
    assert outcome.contact is not None and outcome.contact.tags == ["beta"]
    assert outcome.changes == {"untagged": ["VIP"]}
    _, outcome = apply(people, "c1", {"untag": ["nope"]})
    assert outcome.changes == {}
