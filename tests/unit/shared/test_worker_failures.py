"""How the worker frame treats a handler's failures (shared.worker), without a broker.

One tenant's message that trips anything is parked as poison — never a process exit — and only
a run of poison from several workspaces (a bad deploy) stops the worker.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shared import events
from shared.errors import PoisonMessage
from shared.events import MessageActivated
from shared.worker import (
    MAX_CONSECUTIVE_POISON,
    Consumer,
    PoisonBudget,
    Refused,
    run_by_the_rules,
)


def _consumer(handler: Any) -> tuple[Consumer, list[str]]:
    consumer = Consumer.__new__(Consumer)
    consumer.topic_name = "usher.test"
    consumer.poison = PoisonBudget(MAX_CONSECUTIVE_POISON)
    consumer.handler = handler
    consumer.waits = []  # type: ignore[attr-defined]

    async def sleep(seconds: float) -> None:  # the back-off's clock: recorded, not slept
        consumer.waits.append(seconds)  # type: ignore[attr-defined]

    consumer.sleep = sleep
    parked: list[str] = []

    async def poison(envelope: Any, key: Any, value: Any, reason: str) -> None:
        parked.append(reason)

    consumer._poison = poison  # type: ignore[method-assign]
    return consumer, parked


def _message(workspace: str = "ws_a") -> bytes:
    return events.encode(MessageActivated(workspace_id=workspace, message_id="msg_x"))


@pytest.mark.parametrize(
    "error",
    [
        ValueError("Header values may not contain linefeed or carriage return characters"),
        OverflowError("connect(): port must be 0-65535."),
        KeyError("x"),
        ExceptionGroup("unhandled errors in a TaskGroup", [OverflowError("port")]),
    ],
)
async def test_an_unexpected_error_parks_the_message_instead_of_exiting(error: Exception) -> None:
    async def handler(envelope: Any) -> None:
        raise error

    consumer, parked = _consumer(handler)
    assert await consumer.process(b"k", _message()) is None  # returned: the stream goes on
    assert parked == [f"it could not be processed ({type(error).__name__}; see the log)"]


async def test_poison_and_database_refusals_are_parked_with_their_reason() -> None:
    async def poison(envelope: Any) -> None:
        raise PoisonMessage("import imp_x does not exist")

    async def refused(envelope: Any) -> None:
        raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence for encoding")

    for handler, reason in ((poison, "does not exist"), (refused, "the database refused it")):
        consumer, parked = _consumer(handler)
        await consumer.process(b"k", _message())
        assert len(parked) == 1 and reason in parked[0]


async def test_a_statement_timeout_is_retried_then_parked() -> None:
    calls = 0

    async def slow(envelope: Any) -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")

    consumer, parked = _consumer(slow)
    await consumer.process(b"k", _message())
    assert calls == 3 and "statement timeout" in parked[0]
    assert len(consumer.waits) == 2  # type: ignore[attr-defined]


async def test_transient_faults_are_retried_with_the_worker_backoff() -> None:
    """Retried with jittered exponential back-off (shared.retry.WORKER), then it goes on."""
    calls = 0

    async def flaky(envelope: Any) -> None:
        nonlocal calls
        calls += 1
        if calls < 5:
            raise ConnectionResetError("the database went away")

    consumer, parked = _consumer(flaky)
    assert await consumer.process(b"k", _message()) is None
    waits = consumer.waits  # type: ignore[attr-defined]
    assert calls == 5 and parked == [] and len(waits) == 4
    for n, wait in enumerate(waits, 1):  # 0.4 s doubling, each in the upper half of its step
        assert 0.2 * 2 ** (n - 1) <= wait <= 0.4 * 2 ** (n - 1)


def test_one_workspace_alone_never_spends_the_budget() -> None:
    budget = PoisonBudget(5)
    assert not any(budget.spoilt("ws_a") for _ in range(50))


def test_a_run_of_poison_across_workspaces_stops_the_worker() -> None:
    budget = PoisonBudget(5)
    assert [budget.spoilt(w) for w in ("ws_a", "ws_a", "ws_b", "ws_a")] == [False] * 4
    assert budget.spoilt("ws_b") is True


def test_a_message_processed_ends_the_run() -> None:
    budget = PoisonBudget(3)
    budget.spoilt("ws_a")
    budget.spoilt("ws_b")
    budget.fine()
    assert [budget.spoilt(w) for w in ("ws_a", "ws_b")] == [False, False]
    assert budget.spoilt(None) is True  # an undecodable message counts as a workspace of its own


async def test_work_beside_an_agent_runs_by_the_same_rules() -> None:
    """``run_by_the_rules`` (the parser's file reads use it) awaits the work, retries a
    transient fault, and refuses a poison one with its reason."""
    calls: list[int] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionResetError("gone")
        return "read"

    assert await run_by_the_rules(flaky, what="reading", sleep=sleep) == "read"
    assert len(calls) == 2 and len(waits) == 1

    async def bad() -> str:
        raise PoisonMessage("unknown import source 'x'")

    assert await run_by_the_rules(bad, what="reading", sleep=sleep) == Refused(
        "unknown import source 'x'"
    )
