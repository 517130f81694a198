"""PostgreSQL: the asyncpg pool and the numbered SQL migrations in ``shared/migrations``."""

from __future__ import annotations

import asyncio
import struct
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from shared.logs import get_logger

log = get_logger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 7_331_001  # advisory lock id: one migrator at a time


def encode_jsonb(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


# timestamptz in binary: microseconds since 2000-01-01 UTC. asyncpg's own encoder takes ~1 µs
# a value (four a contact row: 3.9 of the 5.4 µs COPY spent on a bench row); this one ~0.3 for
# an aware UTC value (~0.56 for any other), and the values encoded lately are remembered: a
# row's created_at and updated_at (the batch's one ``now``) are encoded once per 32 rows or so.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = struct.Struct("!q")
_PG_INFINITY = (1 << 63) - 1
_MAX, _MIN = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
_recent: dict[datetime | date, bytes] = {}  # values encoded lately (a batch's "now" repeats)
_RECENT = 64


def encode_timestamptz(value: datetime | date) -> bytes:
    data = _recent.get(value)
    if data is not None:
        return data
    data = timestamptz_bytes(value)
    if len(_recent) >= _RECENT:
        _recent.clear()
    _recent[value] = data
    return data


def timestamptz_bytes(value: datetime | date) -> bytes:
    """A timestamptz's binary value (:func:`encode_timestamptz` without remembering it)."""
    if value.__class__ is datetime and value.tzinfo is UTC and 1 < value.year < 9999:
        # What nearly every value is (parsed or read back as UTC, not an extreme), counted in
        # integers: comparing aware datetimes and dividing timedeltas make _micros slow.
        delta = value - _PG_EPOCH
        return _INT64.pack((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    return _INT64.pack(_micros(value))


def _micros(value: datetime | date) -> int:
    """Any date or datetime as PostgreSQL's microseconds, as asyncpg encodes it."""
    if not isinstance(value, datetime):
        if not isinstance(value, date):
            raise TypeError(f"expected a datetime.date or datetime.datetime, got {value!r}")
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:  # as asyncpg does here (the servers run in UTC): taken as UTC
        value = value.replace(tzinfo=UTC)
    if value == _MAX:  # as asyncpg does: the extremes are PostgreSQL's infinities
        return _PG_INFINITY
    if value == _MIN:
        return -_PG_INFINITY - 1
    return (value - _PG_EPOCH) // _MICROSECOND


def _decode_timestamptz(data: bytes) -> datetime:
    micros = _INT64.unpack(data)[0]
    if micros == _PG_INFINITY:  # as asyncpg does
        return datetime.max
    if micros == -_PG_INFINITY - 1:
        return datetime.min
    return _PG_EPOCH + timedelta(microseconds=micros)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "timestamptz",
        encoder=encode_timestamptz,
        decoder=_decode_timestamptz,
        schema="pg_catalog",
        format="binary",
    )
    # Binary codecs, so COPY (binary) can write json/jsonb columns too.
    await conn.set_type_codec(
        "jsonb", encoder=encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )


# For the API's connections: every statement planned for its own parameters. asyncpg prepares
# each statement once per connection, and after five runs PostgreSQL may keep a generic plan,
# costed for an average workspace (or, before the table's first ANALYZE, for a table of a few
# pages): for a big workspace among small ones that plan reads the whole workspace through
# (workspace_id, id) to find a few people by user_id or email. Measured (make bench-api, a
# fresh database): the people lookup went from 0.3 ms to 12 ms a call over 15,000 requests,
# PostgreSQL's CPU a request from 0.35 to 1.44 ms; planned each time it stays at ~0.1 ms. Not
# for the workers: their statements carry a chunk's thousands of keys, which the planner
# estimates one by one, and planning them each time tripled PostgreSQL's CPU in make bench
# (33 → 100 CPU seconds for 1M rows).
CUSTOM_PLANS = {"plan_cache_mode": "force_custom_plan"}


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection with the JSON codecs every repository expects."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def create_pool(
    dsn: str, size: int = 4, *, statement_timeout_s: float | None = None, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose connections decode json/jsonb with orjson; with ``statement_timeout_s``,
    PostgreSQL cancels any statement that runs longer (``asyncpg.QueryCanceledError``)."""
    if statement_timeout_s is not None:
        settings = dict(kwargs.pop("server_settings", None) or {})
        settings["statement_timeout"] = str(int(statement_timeout_s * 1000))
        kwargs["server_settings"] = settings
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=size, init=_init_connection, **kwargs
    )
    assert pool is not None
    return pool


async def wait_ready(dsn: str, timeout_s: float = 60.0) -> None:
    """Return once the server answers ``SELECT 1``."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            try:
                await conn.fetchval("SELECT 1")
                return
            finally:
                await conn.close()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            last = exc
        await asyncio.sleep(0.3)
    raise TimeoutError(f"PostgreSQL did not answer within {timeout_s:.0f}s: {last!r}")


def migration_files() -> list[tuple[int, Path]]:
    files: list[tuple[int, Path]] = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        if files and files[-1][0] == number:
            raise RuntimeError(
                f"two migrations are numbered {number}: {files[-1][1].name}, {path.name}"
            )
        files.append((number, path))
    return files


async def migrate(dsn: str) -> list[int]:
    """Apply every numbered migration not applied yet, each in its own transaction.

    Safe to run from several processes at once (an advisory lock serialises them).
    Returns the numbers applied now.
    """
    conn = await asyncpg.connect(dsn)
    applied_now: list[int] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for number, path in migration_files():
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    number,
                    path.name,
                )
            applied_now.append(number)
            log.info("migration applied", extra={"version": number, "file": path.name})
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        await conn.close()
    return applied_now
