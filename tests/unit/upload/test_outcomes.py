"""How an import is going and how it ended (services/upload/outcomes.py): the outcome, the
progress and its total, what was not processed, the time left, why it waits, when an upload
expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.upload import outcomes


@pytest.mark.parametrize(
    ("status", "applied", "failed", "expected"),
    [
        ("completed", 3, 0, "completed"),
        ("completed", 0, 0, "completed"),  # nothing to do is not a failure
        ("completed", 98, 102, "completed_with_failures"),
        ("completed", 1, 1, "completed_with_failures"),
        ("completed", 0, 10, "failed"),  # every record failed: the import failed
        ("previewed", 2, 1, "completed_with_failures"),  # a dry run: what the import would do
        ("previewed", 0, 4, "failed"),
        ("failed", 0, 0, "failed"),  # the import itself failed
        ("failed", 500, 0, "failed"),  # ... after applying some
        ("cancelled", 200, 5, "cancelled"),
        ("uploaded", 0, 0, None),
        ("queued", 0, 0, None),
        ("processing", 10, 10, None),
    ],
)
def test_the_outcome(status: str, applied: int, failed: int, expected: str | None) -> None:
    assert outcomes.outcome(status, applied, failed) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # status, done, total, estimate, read -> done, total, estimate, fraction
        (("completed", 300, 300, 300, 300), (300, 300, None, 1.0)),
        (("previewed", 5, None, None, 5), (5, 5, None, 1.0)),
        (("processing", 15_000, None, 300_000, 40_000), (15_000, None, 300_000, 0.05)),
        # more read than estimated: the records read are the denominator
        (("processing", 15_000, None, 30_000, 40_000), (15_000, None, 40_000, 0.375)),
        (("processing", 15_000, 300_000, 310_000, 300_000), (15_000, 300_000, None, 0.05)),
        (("processing", 300_000, 300_000, 300_000, 300_000), (300_000, 300_000, None, 0.999)),
        (("queued", 0, None, None, 0), (0, None, None, 0.0)),
        (("cancelled", 1_200, None, 10_000, 4_000), (1_200, None, 10_000, 0.12)),
        (("processing", 0, 0, None, 0), (0, 0, None, 0.0)),
    ],
)
def test_progress(args: tuple[Any, ...], expected: tuple[Any, ...]) -> None:
    got = outcomes.progress(*args)
    assert (got.done, got.total, got.estimate, round(got.fraction, 4)) == expected


def test_progress_never_moves_back_as_the_parser_reads_and_the_merger_applies() -> None:
    """A file of 1,000 records, estimated at 900 from its first chunk: the parser reads ahead
    of the merger; once the estimate is passed, the records read count; at the end the total
    is exact. The fraction shown goes up (or stays) at every step."""
    states = []
    read = done = 0
    while done < 1000:
        read = min(1000, read + 150)
        total = 1000 if read == 1000 else None  # the parser recorded its end
        states.append(("processing", done, total, 900, read))
        done = min(read, done + 50)
    states.append(("completed", 1000, 1000, 1000, 1000))
    fractions = [outcomes.progress(*state).fraction for state in states]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0


@pytest.mark.parametrize(
    ("status", "done", "total", "expected"),
    [
        ("completed", 300, 300, 0),
        ("previewed", 3, 3, 0),
        ("cancelled", 1_200, 10_000, 8_800),
        ("cancelled", 1_200, None, None),  # stopped before the file was read to its end
        ("failed", 500, 800, 300),
        ("cancelled", 0, None, None),
        ("processing", 10, 100, None),
    ],
)
def test_not_processed(status: str, done: int, total: int | None, expected: int | None) -> None:
    assert outcomes.not_processed(status, done, total) == expected


T0 = datetime(2026, 12, 1, 14, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("done", "denominator", "first_rows", "seconds", "expected"),
    [
        (10_100, 100_100, 100, 10, 90.0),  # 1,000 records a second since the first chunk
        (100, 100_000, 100, 5, None),  # one chunk: no rate yet
        (5_000, None, 100, 5, None),  # nothing to count down to
        (5_000, 4_000, 100, 5, 0.0),  # past the estimate: nothing left to say
        (5_100, 10_100, 100, 0, None),
    ],
)
def test_time_left(
    done: int, denominator: int | None, first_rows: int, seconds: int, expected: float | None
) -> None:
    now = T0 + timedelta(seconds=seconds)
    assert outcomes.eta_seconds(done, denominator, first_rows, T0, now) == expected


def test_time_left_grows_while_nothing_is_applied() -> None:
    soon = outcomes.eta_seconds(2_000, 10_000, 1_000, T0, T0 + timedelta(seconds=1))
    later = outcomes.eta_seconds(2_000, 10_000, 1_000, T0, T0 + timedelta(seconds=60))
    assert soon is not None and later is not None and later > soon


AHEAD = {"id": "imp_a", "file_name": "first.csv", "source": "csv", "queued_at": T0}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # status, done, remote, ahead, ahead_count, pulls_running, pulls_per_workspace
        (("queued", 0, False, AHEAD, 1, 1, 2), ("earlier_import", AHEAD)),
        (("processing", 0, False, AHEAD, 2, 2, 2), ("earlier_import", AHEAD)),
        (("queued", 0, False, None, 0, 0, 2), ("not_started", None)),
        (("processing", 0, False, None, 0, 0, 2), ("first_rows", None)),
        (("queued", 0, True, AHEAD, 2, 2, 2), ("pull_slots", AHEAD)),
        (("queued", 0, True, AHEAD, 1, 1, 2), ("not_started", None)),  # a slot is free
        (("processing", 100, False, AHEAD, 1, 1, 2), None),  # applying: not waiting
        (("completed", 0, False, AHEAD, 1, 1, 2), None),
    ],
)
def test_why_an_import_waits(args: tuple[Any, ...], expected: Any) -> None:
    assert outcomes.waiting(*args) == expected


def test_an_upload_expires_a_day_after_it_was_made() -> None:
    assert outcomes.expires_at("uploaded", T0) == T0 + timedelta(hours=24)
    assert outcomes.expires_at("queued", T0) is None
