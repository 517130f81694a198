"""The short ``make chaos`` inside ``make test``: 20,000 rows while the four services are SIGKILLed
(5 kills), the Kafka broker leading the import's partition (of a 3-node cluster) is killed and
PostgreSQL restarts, with a slow, flaky webhook receiver and a slow SMTP server on the other
end; nothing may be lost, duplicated, or delivered twice or not at all, on any channel.

It runs its own Kafka, PostgreSQL and services (``.usher/chaos/test-<offset>``, ports shifted by
``100 + USHER_TEST_PORT_OFFSET`` from those of ``make chaos``), since it restarts them all.
``USHER_CHAOS_SEED`` replays a run's data and fault plan (fault timing still varies).
"""

from __future__ import annotations

import os
import random

import pytest

from bench.chaos.data import SEED_TAG, TAG, Model, Picker, import_record, seed_records
from bench.chaos.run import run
from bench.chaos.session import HOME, Options
from infra.kafka_broker import LIBS
from tests.support.env import IN_CI, OFFSET
from tests.support.reference import Reference

SEED = int(os.environ.get("USHER_CHAOS_SEED", "8"))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_import_survives_kills_and_restarts() -> None:
    if not LIBS.exists() and not IN_CI:
        pytest.skip(f"infrastructure missing: no Kafka jars in {LIBS}")
    outcome = run(
        Options(
            rows=20_000,
            kills=5,
            seed=SEED,
            home=HOME / f"test-{OFFSET}",
            port_offset=100 + OFFSET,
            chunk_rows=100,
            timeout_s=900,
        )
    )
    summary = outcome.summary
    assert summary.get("kills", 0) >= 5, summary
    assert summary.get("broker_restarts") == 1 and summary.get("db_restarts") == 1, summary
    assert outcome.problems == [], outcome.problems
    assert {k: summary[k] for k in ("lost", "duplicated")} == {"lost": 0, "duplicated": 0}
    assert summary["deliveries_missing"] == summary["deliveries_duplicated"] == 0
    for channel in ("in_app", "webhook", "email"):
        verdict = summary["channels"][channel]
        assert verdict["missing"] == verdict["duplicated"] == 0, (channel, verdict)
        assert verdict["delivered"] == verdict["expected"] > 0, (channel, verdict)
    assert summary["completed"] and summary["counts_exact"]
    undo = summary["undo"]  # the import undone under a second round of faults
    assert undo["status"] == "completed", undo
    assert undo["not_restored"] == undo["left_behind"] == undo["conflicts"] == 0, undo


def test_expected_outcome_is_the_reference_model() -> None:
    """The chaos run's indexed model agrees with ``tests/support/reference.py`` record by record."""
    rng = random.Random(SEED)
    model, reference = Model(), Reference()
    columns = ("email", "user_id", "name")
    for cells in seed_records(300):
        model.apply(cells, SEED_TAG)
        reference.apply("users", dict(zip(columns, cells, strict=False)), SEED_TAG)
    pick = Picker(model, rng)
    for i in range(1, 4001):
        cells = import_record(i, rng, pick)
        outcome = model.apply(cells, TAG)
        if Model.validate(cells) is None:  # rejected by the parser: the reference never sees it
            assert outcome == "failed"
            continue
        assert reference.apply("users", dict(zip(columns, cells, strict=False)), TAG) == outcome
    state = sorted(
        (p.role, p.user_id or "", p.email, p.name or "", tuple(sorted(p.tags)))
        for p in model.people
    )
    assert state == reference.state()
