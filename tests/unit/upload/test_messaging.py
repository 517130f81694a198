"""The rules of messages (services/upload/messaging.py) and the mail-server check's cache."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.upload import messaging
from services.upload.mail_check import MailCheck
from shared.settings import Settings

WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def message(**over: Any) -> dict[str, Any]:
    base = {
        "name": "Welcome",
        "type": "manual",
        "state": "live",
        "activated_at": WHEN,
        "subject": "Hi {{name}}",
        "body": "b",
        "audience": {"field": "tag", "op": "eq", "value": "VIP"},
        "webhook_url": None,
    }
    return {**base, **over}


C = messaging.Counts


@pytest.mark.parametrize(
    ("row", "counts", "expected"),
    [
        (message(), C(failed=5), ("failed", "Failed — 5 of 5 deliveries failed")),
        (
            message(),
            C(delivered=3, failed=2),
            ("sent", "Sent to 3 people — 2 of 5 deliveries failed"),
        ),
        (message(), C(delivered=1), ("sent", "Sent to 1 person")),
        (message(), C(pending=2, delivered=1, failed=1), ("sending", "Sending — 2 of 4 done")),
        (message(), C(), ("live", "Live — no deliveries yet")),
        (message(), C(cancelled=3, failed=1), ("failed", "Failed — 1 of 1 delivery failed")),
        (
            message(type="auto"),
            C(delivered=9, failed=1),
            ("live", "Live — 1 of 10 deliveries failed"),
        ),
        (message(type="auto"), C(delivered=12_500), ("live", "Live")),
        (message(state="paused", activated_at=None), C(), ("draft", "Draft — not live yet")),
        (message(state="paused"), C(delivered=2), ("paused", "Paused")),
        (message(state="archived"), C(failed=5), ("archived", "Archived")),
    ],
)
def test_the_status_a_message_reads_as(
    row: dict[str, Any], counts: messaging.Counts, expected: tuple[str, str]
) -> None:
    assert messaging.status(row, counts) == expected


def test_counts_from_the_database_ignore_unknown_statuses() -> None:
    counts = messaging.Counts.of({"failed": 2, "delivered": 1, "suppressed": 4})
    assert (counts.failed, counts.delivered, counts.total) == (2, 1, 3)


@pytest.mark.parametrize(
    ("changes", "new"),
    [
        ({"subject": "Hello {{name}}"}, True),
        ({"body": "other"}, True),
        ({"audience": {"and": []}}, True),
        ({"subject": "Hi {{name}}"}, False),  # the same text: no new version
        ({"name": "Renamed"}, False),
        ({"state": "paused"}, False),
    ],
)
def test_a_change_of_content_is_a_new_version(changes: dict[str, Any], new: bool) -> None:
    assert messaging.new_version(message(), changes) is new


def test_an_archived_message_may_only_be_restored() -> None:
    archived = message(state="archived")
    assert messaging.archive_problem(archived, {"state": "paused"}) is None
    assert messaging.archive_problem(archived, {}) is None
    refusal = messaging.archive_problem(archived, {"state": "live"})
    assert refusal is not None and "restore it first" in refusal
    assert messaging.archive_problem(archived, {"body": "x"}) is not None
    assert messaging.archive_problem(message(), {"state": "archived"}) is None


def test_a_copy_is_named_once() -> None:
    assert messaging.copy_name("Welcome") == "Copy of Welcome"
    assert messaging.copy_name("Copy of Welcome") == "Copy of Welcome"
    assert len(messaging.copy_name("x" * 200)) == 200


def test_going_live_reaches_who_has_not_had_it() -> None:
    assert messaging.reach(10, 3, message(type="auto")) == 7
    assert messaging.reach(10, 0, None) == 10  # a new message
    assert messaging.reach(10, 3, message()) == 0  # manual, sent when it first went live
    assert messaging.reach(10, 0, message(activated_at=None)) == 10


def test_template_problems_name_their_field() -> None:
    problems = messaging.template_problems(
        {"subject": "Hi {{firstname}}", "body": "{{custom.plna}} {{name"}, ["plan"]
    )
    assert [p["field"] for p in problems] == ["subject", "body", "body"]
    assert messaging.template_refusal(problems).startswith(
        "the subject and body have 3 problems; the first: subject: {{firstname}} is not"
    )
    assert messaging.template_refusal(problems[:1]).startswith("subject: {{firstname}}")
    assert messaging.template_problems({"body": "Hi {{name}}"}, []) == []


async def test_the_mail_server_check_is_kept_a_few_seconds() -> None:
    calls: list[int] = []
    now = [100.0]

    async def check(_: Settings) -> str | None:
        calls.append(1)
        return "the mail server at 127.0.0.1:25 refused the connection"

    mail = MailCheck(Settings(), check=check, clock=lambda: now[0], keep_s=5)
    assert await mail.problem() == "the mail server at 127.0.0.1:25 refused the connection"
    now[0] += 4.9
    await mail.problem()
    assert len(calls) == 1
    now[0] += 0.2
    await mail.problem()
    assert len(calls) == 2
    assert mail.server == "127.0.0.1:25"
