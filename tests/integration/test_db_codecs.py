"""The timestamptz codec every connection uses (shared.db) reads and writes exactly what
asyncpg's own does: the same instants, naive datetimes and dates as UTC, and the extremes as
PostgreSQL's infinities."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg
import pytest

from shared import db

VALUES = [
    datetime(2026, 12, 1, 23, 1, 2, 345678, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before PostgreSQL's epoch
    datetime(1900, 1, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 6, 1, 12, 0),  # naive: UTC (the servers run in UTC)
    date(2026, 3, 4),
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
    # The edges of the fast path for aware UTC values (years 2 to 9998).
    datetime(2, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


async def test_timestamptz_as_asyncpg_has_it(stack) -> None:
    ours = await db.connect(stack.dsn)
    theirs = await asyncpg.connect(stack.dsn)
    try:
        for value in VALUES:
            sql = "SELECT $1::timestamptz, $1::timestamptz::text"
            assert tuple(await ours.fetchrow(sql, value)) == tuple(
                await theirs.fetchrow(sql, value)
            ), value
        for text in ("infinity", "-infinity", "2026-01-01 00:00:00.000001+00", "1500-05-05+00"):
            sql = f"SELECT '{text}'::timestamptz"
            assert await ours.fetchval(sql) == await theirs.fetchval(sql), text
        # The same value object twice (a batch's one "now"), and another after it.
        now = datetime.now(UTC)
        later = now + timedelta(microseconds=1)
        rows = await ours.fetch("SELECT unnest($1::timestamptz[])", [now, now, later])
        assert [r[0] for r in rows] == [now, now, later]
        with pytest.raises(asyncpg.DataError, match="expected a datetime"):
            await ours.fetchval("SELECT $1::timestamptz", "2026-01-01")
    finally:
        await ours.close()
        await theirs.close()
