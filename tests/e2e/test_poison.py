"""Poison messages go to the dead-letter topic with their reason; the pipeline goes on."""

from __future__ import annotations

import asyncio
import signal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.support.api import Api


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"poison")
    finally:
        await producer.stop()


async def _dead_letters(bootstrap: str, topic: str) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [
            (record.value, dict(record.headers))
            for records in batches.values()
            for record in records
            if record.key == b"poison"
        ]
    finally:
        await consumer.stop()


def test_undecodable_chunks_are_dead_lettered_and_imports_go_on(services) -> None:
    settings = services.settings()
    bootstrap = settings.kafka_bootstrap
    garbage = [b"\x00\x01 not json", b'{"type": "import.rows", "payload": {"seq": "x"}}']
    asyncio.run(_produce(bootstrap, settings.topic_prefix + "row-chunks", garbage))
    api = Api.new_workspace(services.base_url, "poison")
    done = api.import_csv(b"email\nafter-poison@example.com\n", mapping={"email": "email"})
    assert done["status"] == "completed" and done["counts"]["created"] == 1

    parked = api.wait_for(
        lambda: len(asyncio.run(_dead_letters(bootstrap, settings.topic_prefix + "dead-letters"))),
        2,
        timeout_s=30,
    )
    assert parked == 2
    letters = asyncio.run(_dead_letters(bootstrap, settings.topic_prefix + "dead-letters"))
    assert {value for value, _ in letters} == set(garbage)
    for _, headers in letters:
        assert headers["source_topic"] == (settings.topic_prefix + "row-chunks").encode()
        assert b"envelope" in headers["reason"] or b"payload" in headers["reason"]


def test_sigterm_mid_import_loses_nothing(services) -> None:
    api = Api.new_workspace(services.base_url, "sigterm")
    rows = "".join(f"t{i}@example.com,t{i}\n" for i in range(20_000))
    uploaded = api.upload(("email,user_id\n" + rows).encode())
    api.start(uploaded["id"], mapping={"email": "email", "user_id": "user_id"})
    api.wait_for(
        lambda: api.ok("GET", f"/api/imports/{uploaded['id']}")["counts"]["created"] > 0, True
    )
    services.stop_service("merger", signal.SIGTERM)
    services.start_service("merger")
    done = api.wait(uploaded["id"], timeout_s=180)
    assert done["counts"] == {
        "rows": 20_000,
        "created": 20_000,
        "updated": 0,
        "failed": 0,
        "unchanged": 0,
        "warnings": 0,
    }
    assert len(api.all_users()) == 20_000
