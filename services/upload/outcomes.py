"""How an import is going and how it ended, as the API states it: one rule each, which the web
UI words (it keeps no copy of them). Pure functions over plain values, unit-tested by tables.

* :func:`outcome` — completed, completed with failures, failed (also when every record failed),
  cancelled;
* :func:`progress` — records done of a total that is exact once the source was read to its end,
  an estimate before, and the fraction done;
* :func:`not_processed` — the records an import that stopped early never got to;
* :func:`eta_seconds` — the time left at the rate so far;
* :func:`waiting` — why an import that has applied nothing yet waits;
* :func:`expires_at` — when an upload never started is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shared import import_store

Outcome = Literal["completed", "completed_with_failures", "failed", "cancelled"]
WaitingReason = Literal["earlier_import", "pull_slots", "not_started", "first_rows"]
RUNNING = ("queued", "processing")
ENDED_EARLY = ("failed", "cancelled")  # the rest of the source was not processed
DONE = ("completed", "previewed")  # "previewed": a dry run ran to its end


def outcome(status: str, applied: int, failed: int) -> Outcome | None:
    """How an import ended, from its status and the records it applied (created or updated)
    and failed; None while it has not ended (uploaded, queued, processing).

    A run to its end with no failure is ``completed``; with failures, ``completed_with_failures``
    when it applied any record, else ``failed`` — as is an import that stopped on an error.
    A dry run's end (``previewed``) is judged the same way: what the import would do.
    """
    if status == "failed":
        return "failed"
    if status == "cancelled":
        return "cancelled"
    if status not in DONE:
        return None
    if not failed:
        return "completed"
    return "completed_with_failures" if applied else "failed"


@dataclass(frozen=True)
class Progress:
    done: int  # records applied or failed
    total: int | None  # records in the source, exact: known once it was read to its end
    estimate: int | None  # the records in the source as estimated, while total is unknown
    fraction: float  # 0–1, of done to the total (or the estimate)


def progress(
    status: str, done: int, total: int | None, estimate: int | None, read: int
) -> Progress:
    """How far an import got. ``total`` is the exact count of its records (set when the parser
    reached the end of the source), ``estimate`` the parser's guess from the file's size and
    the size of the records it read so far (a little high, and closer as it reads), ``read``
    the records read so far.

    While the total is unknown the denominator is the estimate (never below the records read).
    It is biased high, so it mostly comes down as the parser reads (the fraction goes up); it
    rises only where a file's later records are shorter than its earlier ones, by what the
    estimate was off. The switch to the exact total never moves the fraction back: the total is
    known when the last records were read, and the estimate then was at least that many.
    Below 1 until it completed.
    """
    if status in DONE:
        return Progress(done, total if total is not None else done, None, 1.0)
    if total is not None:
        return Progress(done, total, None, min(0.999, done / total) if total else 0.0)
    guess = max(estimate or 0, read)
    if not guess:
        return Progress(done, None, None, 0.0)
    return Progress(done, None, guess, min(0.99, done / guess))


def not_processed(status: str, done: int, total: int | None) -> int | None:
    """Records an import never got to: none once it completed; for one that stopped early
    (cancelled, failed) those of its total after what was done, or None when the source was
    not read to its end (the total is unknown; :func:`progress` has the estimate); None while
    it runs."""
    if status in DONE:
        return 0
    if status in ENDED_EARLY and total is not None:
        return max(total - done, 0)
    return None


def eta_seconds(
    done: int,
    denominator: int | None,
    first_rows: int,
    first_at: datetime | None,
    now: datetime,
) -> float | None:
    """Seconds left at the rate so far: the records done since the first chunk committed
    (``first_rows`` records, at ``first_at``) over the time since. None before a second chunk,
    or without a total or estimate to count down to. A stall lowers the rate, so the time left
    grows while nothing is applied."""
    if denominator is None or first_at is None or done <= first_rows:
        return None
    elapsed = (now - first_at).total_seconds()
    if elapsed <= 0:
        return None
    rate = (done - first_rows) / elapsed
    return round(max(denominator - done, 0) / rate, 1)


def waiting(
    status: str,
    done: int,
    remote: bool,
    ahead: Mapping[str, Any] | None,
    ahead_count: int,
    pulls_running: int,
    pulls_per_workspace: int,
) -> tuple[WaitingReason, Mapping[str, Any] | None] | None:
    """Why an import that applied nothing yet waits, and the import it waits for; None when
    it does not wait (it is applying records, or it has ended).

    What really orders imports here: the parser reads a workspace's file imports one after
    another (other workspaces' beside them), and their chunks go to the workspace's partition of
    ``row-chunks``, which one merger applies in order — so a file import waits for the
    unfinished ones of its workspace queued before it (``ahead``, the earliest of
    ``ahead_count``): ``earlier_import``. A remote pull runs beside those and waits only for a
    free pull slot of its workspace (``pull_slots``, ``ahead`` one of the running pulls).
    Otherwise it waits for the parser to pick it up (``not_started``: all its file-reading
    slots may be taken by other workspaces' imports; a lost request is sent again within a
    minute), or, read, for its first chunk to be applied (``first_rows``)."""
    if status not in RUNNING or done:
        return None
    if remote:
        if status == "queued" and pulls_running >= pulls_per_workspace:
            return "pull_slots", ahead
    elif ahead is not None and ahead_count:
        return "earlier_import", ahead
    return ("not_started" if status == "queued" else "first_rows"), None


def expires_at(status: str, created_at: datetime) -> datetime | None:
    """When an upload never started is deleted (shared.import_store.expire_uploads)."""
    if status != "uploaded":
        return None
    return created_at + timedelta(hours=import_store.UPLOAD_KEPT_HOURS)
