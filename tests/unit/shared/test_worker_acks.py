"""In-order acks of the stream workers (shared.worker.InOrderAcks), without a broker."""

from __future__ import annotations

import asyncio

from shared.worker import InOrderAcks


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_events_without_tails_are_acked_at_once_in_order() -> None:
    acked: list[int] = []

    async def ack(event: int) -> None:
        acked.append(event)

    acks = InOrderAcks(ack)
    for event in (1, 2, 3):
        await acks.add(event, None)
    assert acked == [1, 2, 3]


async def test_a_running_tail_holds_its_event_and_every_later_one() -> None:
    acked: list[int] = []

    async def ack(event: int) -> None:
        acked.append(event)

    done = asyncio.Event()

    async def tail() -> None:
        await done.wait()

    acks = InOrderAcks(ack)
    await acks.add(1, None)
    await acks.add(2, tail())
    await acks.add(3, None)
    await _settle()
    assert acked == [1]  # 3 is finished but 2 is not
    done.set()
    await _settle()
    assert acked == [1, 2, 3]  # acked when the tail is done, without another event


async def test_a_failed_or_cancelled_tail_is_never_acked_nor_anything_after_it() -> None:
    for ending in ("fail", "cancel"):
        acked: list[int] = []

        async def ack(event: int, acked: list[int] = acked) -> None:
            acked.append(event)

        gate = asyncio.Event()

        async def tail(gate: asyncio.Event = gate, ending: str = ending) -> None:
            await gate.wait()
            if ending == "fail":
                raise RuntimeError("the commit failed")

        acks = InOrderAcks(ack)
        task = asyncio.ensure_future(tail())
        await acks.add(1, task)
        await acks.add(2, None)
        if ending == "fail":
            gate.set()
        else:
            task.cancel()
        await _settle()
        assert acked == [], ending
        await acks.add(3, None)
        assert acked == [], ending
