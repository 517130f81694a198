"""The chaos run's pure pieces: how repeated acceptances are classified, the deliveries table
check, the per-channel audiences of its model, and the partition it aims the leader kill at."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from bench.chaos.checks import classify, stored
from bench.chaos.data import AUDIENCES, CHANNELS, GOLD, Person
from bench.chaos.session import chunk_partition
from shared.filters import FilterContext, matches

EXPECTED = {"m:a", "m:b", "m:c"}


def test_each_key_accepted_once_is_clean() -> None:
    verdict = classify(EXPECTED, [("m:a", 1.0), ("m:b", 2.0), ("m:c", 3.0)], [])
    assert verdict.ok
    assert verdict.summary() == {
        "expected": 3,
        "delivered": 3,
        "missing": 0,
        "duplicated": 0,
        "resent_after_kill": 0,
        "unexpected": 0,
    }


def test_a_key_never_accepted_is_missing_and_a_stray_one_unexpected() -> None:
    verdict = classify(EXPECTED, [("m:a", 1.0), ("m:b", 2.0), ("m:x", 3.0), (None, 4.0)], [])
    assert (verdict.delivered, verdict.missing, verdict.unexpected) == (2, 1, 1)
    assert verdict.examples == {"missing": ["m:c"], "unexpected": ["m:x"]}
    assert not verdict.ok


def test_accepted_again_without_a_messenger_death_between_is_a_duplicate() -> None:
    # The messenger died before the first acceptance and after the second: neither is between.
    accepted = [("m:a", 5.0), ("m:b", 2.0), ("m:c", 3.0), ("m:a", 7.0)]
    verdict = classify(EXPECTED, accepted, [1.0, 9.0], {"db_restart": [6.0], "broker_fault": []})
    assert (verdict.duplicated, verdict.resent_after_kill) == (1, 0)
    assert verdict.duplicated_between == {"db_restart": 1}
    assert verdict.examples == {"duplicated": ["m:a"]}
    assert not verdict.ok


def test_a_duplicate_with_no_fault_between_is_attributed_to_none() -> None:
    verdict = classify(EXPECTED, [("m:a", 1.0), ("m:a", 2.0)], [], {"db_restart": [5.0]})
    assert verdict.duplicated_between == {"none": 1}


def test_accepted_again_after_a_messenger_death_is_a_resend() -> None:
    # Given in any order; the death at the first request's arrival still counts (the sender may
    # have died while the receiver was answering it).
    accepted = [("m:a", 9.0), ("m:a", 4.0), ("m:b", 1.0), ("m:c", 1.5)]
    verdict = classify(EXPECTED, accepted, [4.0])
    assert (verdict.duplicated, verdict.resent_after_kill, verdict.delivered) == (0, 1, 3)
    assert verdict.ok


def test_each_pair_of_acceptances_is_judged_on_its_own() -> None:
    # a: 1 → 3 (death at 2 between: resend) → 4 (no death between 3 and 4: duplicate).
    accepted = [("m:a", 1.0), ("m:a", 3.0), ("m:a", 4.0), ("m:b", 1.0), ("m:c", 1.0)]
    verdict = classify(EXPECTED, accepted, [2.0])
    assert (verdict.resent_after_kill, verdict.duplicated) == (1, 1)


def test_the_deliveries_table_needs_one_delivered_row_per_expected_person() -> None:
    rows = [
        ("a", "delivered"),
        ("b", "delivered"),
        ("b", "delivered"),  # two rows for one person
        ("c", "failed"),
        ("z", "delivered"),  # nobody expected z
    ]
    verdict = stored({"a", "b", "c", "d"}, rows)
    assert verdict.expected == 4
    assert verdict.delivered == 1  # only a: b has two rows, c failed, d none
    assert verdict.missing == ["d"]
    assert verdict.doubled == 1
    assert verdict.unexpected == ["z"]
    assert verdict.not_delivered == {"failed": 1}
    assert not verdict.ok
    assert stored({"a"}, [("a", "delivered")]).ok


CTX = FilterContext(attribute_types={"tier": "string"}, segments={}, now=datetime.now(UTC))


def contact(person: Person) -> dict[str, Any]:
    return {
        "id": "c1",
        "role": person.role,
        "user_id": person.user_id,
        "email": person.email,
        "name": person.name,
        "phone": None,
        "signed_up_at": None,
        "last_seen_at": None,
        "last_seen_ip": None,
        "created_at": CTX.now,
        "updated_at": CTX.now,
        "tags": sorted(person.tags),
        "custom": {} if person.tier is None else {"tier": person.tier},
        "events": {},
    }


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("Person 1250", GOLD),
        ("Person 1250", "basic"),
        ("Person 250", None),
        ("Seed 686", GOLD),
        ("Person 432", GOLD),
        ("Person 19918", GOLD),
        ("Person 1251", GOLD),
        ("Person 25", GOLD),
        (None, GOLD),
        ("", GOLD),
    ],
)
def test_the_model_judges_each_audience_as_the_filter_language_does(
    name: str | None, tier: str | None
) -> None:
    person = Person("user", "u1", "u1@chaos.test", name=name, tier=tier)
    for channel in CHANNELS:
        assert person.matches(channel) == matches(AUDIENCES[channel], contact(person), CTX), channel


def test_judging_remembers_every_audience_a_person_was_in() -> None:
    person = Person("user", "u1", "u1@chaos.test", name="Person 1250", tier=GOLD)
    person.judge()
    person.tier, person.name = "basic", "Person 2"
    person.judge()
    assert person.matched_by == {"in_app", "webhook"} and person.matched


@pytest.mark.parametrize("workspace_id", ["ws_01", "ws_01HZX3", "w" * 26, "é"])
def test_the_leader_kill_aims_at_the_partition_the_producer_picks(workspace_id: str) -> None:
    partitions = list(range(4))
    expected = DefaultPartitioner()(workspace_id.encode(), partitions, partitions)
    assert chunk_partition(workspace_id, 4) == expected
