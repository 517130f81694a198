"""Shared fixtures: a real Kafka broker and a real PostgreSQL server for the whole session.

The local stack (``infra.stack.Stack``) runs under ``.usher/test`` on its own ports, so the
tests pass while ``make run`` is up. ``USHER_TEST_INFRA=docker`` uses testcontainers instead
(only where a Docker engine exists). Infrastructure that cannot start fails the run under
``CI=true`` and skips the tests that need it otherwise.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from infra.stack import Stack
from shared import db, kafka
from shared.settings import Settings
from tests.support.api import ADMIN
from tests.support.db import fresh_database
from tests.support.env import FAKES_HOST, IN_CI, MAX_UPLOAD, OFFSET, SMTP_PORT, TEST_HOME


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"infrastructure missing in CI: {reason}")
    pytest.skip(f"infrastructure missing: {reason}")


class DockerStack(Stack):
    """Kafka and PostgreSQL from testcontainers; the services still run as local processes."""

    def start_infra(self) -> None:
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        self._pg = PostgresContainer(
            "postgres:18", username="usher", password="usher", dbname="usher"
        )
        self._pg.start()
        self.database_url = self._pg.get_connection_url().replace("+psycopg2", "")
        self._kafka = KafkaContainer("apache/kafka:4.3.1").with_kraft()
        self._kafka.start()
        bootstrap = self._kafka.get_bootstrap_server()
        self.broker.port = int(bootstrap.rsplit(":", 1)[1])
        import asyncio

        asyncio.run(db.migrate(self.dsn))
        asyncio.run(kafka.ensure_topics(self.settings()))

    def stop_infra(self) -> None:
        self._kafka.stop()
        self._pg.stop()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """Kafka + PostgreSQL, migrated, topics created. Services are started by ``services``."""
    kind = os.environ.get("USHER_TEST_INFRA", "local")
    cls = DockerStack if kind == "docker" else Stack
    shutil.rmtree(TEST_HOME, ignore_errors=True)
    instance = cls(
        TEST_HOME,
        kafka_port=19092 + OFFSET,
        controller_port=19093 + OFFSET,
        pg_port=15433 + OFFSET,
        http_port=18000 + OFFSET,
        worker_port_base=16101 + OFFSET,
        topic_prefix="usher-test.",
        partitions=4,
        extra_env={
            "USHER_ADMIN_TOKEN": ADMIN,
            "USHER_RATE_LIMIT_PER_MINUTE": "0",
            "USHER_LOG_LEVEL": "INFO",
            "USHER_CHUNK_ROWS": "100",
            "USHER_SMTP_PORT": str(SMTP_PORT),
            "USHER_WEBHOOK_TIMEOUT_S": "2",
            "USHER_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
            "USHER_ALLOWED_PRIVATE_HOSTS": FAKES_HOST,
            "USHER_RATE_LIMIT_PER_IP_PER_MINUTE": "0",
            "USHER_AUTH_FAILURES_PER_MINUTE": "0",
        },
    )
    try:
        instance.start_infra()
    except Exception as exc:
        instance.stop_all()
        _unavailable(f"{exc!r}")
    yield instance
    instance.stop_all()


@pytest.fixture(scope="session")
def services(stack: Stack) -> Iterator[Stack]:
    """The four services running as processes against the test infrastructure."""
    stack.start_services()
    stack.supervise()  # like make run: a worker that exits on an unexpected error is restarted
    try:
        stack.wait_http()
    except Exception:
        for name in ("upload", "parser", "merger", "messenger"):
            log = stack.home / "logs" / f"{name}.log"
            if log.exists():
                print(f"--- {name} log ---\n{log.read_text()[-3000:]}")
        raise
    yield stack
    stack.stop_services()


@pytest.fixture(scope="session")
def base_settings(stack: Stack) -> Settings:
    return stack.settings()


@pytest.fixture
def unique_settings(stack: Stack) -> Settings:
    """Settings with topics of their own (created), for tests that drive workers directly."""
    import asyncio

    settings = Settings(
        database_url=stack.dsn,
        kafka_bootstrap=stack.broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        topic_partitions=2,
        storage_dir=stack.storage_dir,
        chunk_rows=50,
    )
    asyncio.run(kafka.ensure_topics(settings))
    return settings


@pytest.fixture
async def pg_pool(stack: Stack) -> AsyncIterator[object]:
    pool = await db.create_pool(stack.dsn, 4)
    yield pool
    await pool.close()


@pytest.fixture
async def own_pool(stack: Stack) -> AsyncIterator[object]:
    """A pool on a database of its own that no running service reads: for tests whose rows the
    session's services would otherwise act on too (the messenger's sweeper claims any pending
    send it finds)."""
    name = f"own_{uuid.uuid4().hex[:12]}"
    dsn = await fresh_database(stack.dsn, name)
    pool = await db.create_pool(dsn, 4)
    yield pool
    await pool.close()
    conn = await db.connect(stack.dsn)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()
