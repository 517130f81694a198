"""Connector credentials stay out of Kafka, the logs, the API and the database in clear."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.api import Api
from tests.support.db import query
from tests.support.topics import read_from_start
from tests.support.vendors import FakeMailchimp, FakeMixpanel, mailchimp_member, mixpanel_profile

MC_KEY = "5f1e0c9a7b3d42e8a6c1f0b9d8e7a6c5-us21"
MP_USER = "scan-test.9z8y7x.mp-service-account"
MP_SECRET = "Zq8-secret-that-must-never-leak-Wm3"
WRONG_SECRET = "Another-wrong-secret-Kp4Jd9"


async def _all_messages(bootstrap: str, prefix: str) -> list[bytes]:
    """Every key, value and header of every message in the stack's topics, from the start."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    ]
    assert {tp.topic for tp in partitions} == set(topics)
    found: list[bytes] = []
    for m in await read_from_start(bootstrap, partitions):
        found.append(m.key or b"")
        found.append(m.value or b"")
        found.extend(v for _, v in m.headers or ())
    return found


def _forms(secret: str, user: str = "usher") -> list[bytes]:
    """The secret as it could leak: plain, or inside a basic-auth header."""
    return [secret.encode(), base64.b64encode(f"{user}:{secret}".encode())]


def test_credentials_never_leak(services) -> None:
    api = Api.new_workspace(services.base_url, "Secrets")
    with (
        FakeMailchimp(MC_KEY, {"aud": [mailchimp_member(i, "aud") for i in range(30)]}) as mc,
        FakeMixpanel(MP_USER, MP_SECRET, {"99": [mixpanel_profile(i) for i in range(30)]}) as mp,
    ):
        imports = [
            api.ok(
                "POST",
                "/api/imports/mailchimp",
                202,
                json={"api_key": MC_KEY, "list_id": "aud", "base_url": mc.base_url},
            ),
            api.ok(
                "POST",
                "/api/imports/mixpanel",
                202,
                json={
                    "project_id": 99,
                    "service_account_username": MP_USER,
                    "service_account_secret": MP_SECRET,
                    "base_url": mp.base_url,
                },
            ),
            api.ok(
                "POST",
                "/api/imports/mixpanel",
                202,
                json={
                    "project_id": 99,
                    "service_account_username": MP_USER,
                    "service_account_secret": WRONG_SECRET,
                    "base_url": mp.base_url,
                },
            ),
        ]
        done = [api.wait(i["id"]) for i in imports]
    assert [d["status"] for d in done] == ["completed", "completed", "failed"]
    assert done[0]["counts"]["created"] == 30 and done[1]["counts"]["created"] == 30

    needles = [*_forms(MC_KEY), *_forms(MP_SECRET, MP_USER), *_forms(WRONG_SECRET, MP_USER)]
    # Kafka: every message of every topic of this stack, from the beginning.
    messages = asyncio.run(_all_messages(services.broker.bootstrap, services.topic_prefix))
    assert messages, "the scan read nothing: it would prove nothing"
    assert any(i["id"].encode() in m for m in messages for i in imports)
    for needle in needles:
        assert not any(needle in m for m in messages), needle
    # Logs of every service.
    logs = list(Path(services.home / "logs").glob("*.log"))
    assert logs
    for path in logs:
        text = path.read_bytes()
        for needle in needles:
            assert needle not in text, (path, needle)
    # API answers.
    history = api.request("GET", "/api/imports").content
    for needle in needles:
        assert needle not in history
    # The database: credentials are dropped once the pull is over; nothing else holds them.
    for table in ("imports", "import_errors", "outbox"):
        rows = query(services.dsn, f"SELECT t::text FROM {table} t")
        for needle in needles[::2]:
            assert not any(needle.decode() in r[0] for r in rows), table
    secrets = query(
        services.dsn,
        "SELECT secret FROM imports WHERE id = ANY($1::text[])",
        [i["id"] for i in imports],
    )
    assert [r[0] for r in secrets] == [None, None, None]
