"""Binary COPY encoded by Usher (shared.pgcopy) writes what asyncpg's own COPY writes, and
fails where it fails: the contact rows the merger, the API and the dry runs write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from shared import db, pgcopy
from shared.people_store import CONTACT_COLUMNS, copy_contacts
from tests.integration.test_db_codecs import VALUES as TIMES

NOW = datetime.now(UTC)


def _rows() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        # every nullable column null, no tags, no custom attributes
        ("c_1", "ws_1", "lead", None, None, None, None, None, None, None, [], {}, NOW, NOW),
        (
            "c_2",
            "ws_1",
            "user",
            "u-ü 2",
            "Zoë@Example.com",
            'Zoë "quoted" \\ back\tslash\nnew line 😀',
            "+14155550100",
            datetime(2015, 4, 28, tzinfo=UTC),
            datetime(2020, 9, 13, 12, 27, 7, 123, tzinfo=UTC),
            "2001:db8::1",
            ["imported", "Batch 2", "ünïcode", ""],
            {"plan": "free", "mrr": 2.7, "beta": True, "n": None, "nested": {"a": [1, "b"]}},
            NOW,
            NOW + timedelta(microseconds=1),
        ),
        (
            "c_3",
            "ws_1",
            "user",
            "x" * 10_000,
            None,
            None,
            None,
            None,
            None,
            None,
            ["a"],
            None,
            NOW,
            NOW,
        ),
        (
            "c_4",
            "ws_1",
            "user",
            "4",
            None,
            None,
            None,
            None,
            None,
            None,
            ["a", None, "b"],
            [],
            NOW,
            NOW,
        ),
    ]
    # A column of distinct times (the encoder stops remembering them after its probe), long
    # enough to be sent in several pieces, then the codec's edges, which go through both kinds
    # of column.
    for i in range(max(pgcopy._TIMES_PROBE + 50, 2 * pgcopy.PIECE + 1)):
        seen = NOW + timedelta(seconds=i, microseconds=i)
        row = ("x", "ws_3", "user", None, None, None, None, NOW, seen, None, [], {}, NOW, NOW)
        rows.append((f"d_{i:03}", *row[1:]))
    for i, value in enumerate(TIMES):  # the timestamptz codec's edges, in every time column
        rows.append(
            (
                f"t_{i}",
                "ws_2",
                "user",
                None,
                None,
                None,
                None,
                value,
                value,
                None,
                ["a"],
                {"i": i},
                value,
                value,
            )
        )
    rows.append(
        (
            "t_naive",
            "ws_2",
            "user",
            None,
            None,
            None,
            None,
            datetime(2026, 6, 1, 12),
            date(2026, 3, 4),
            None,
            [],
            {},
            datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=-7))),
            NOW,
        )
    )
    return rows


async def _tables(conn: asyncpg.Connection) -> None:
    for name in ("ours", "theirs"):
        await conn.execute(
            f"CREATE TEMP TABLE {name} AS SELECT * FROM contacts WITH NO DATA;"
            f" ALTER TABLE {name} ALTER tags DROP NOT NULL"
        )


async def test_contact_rows_are_written_as_asyncpg_writes_them(stack) -> None:
    conn = await db.connect(stack.dsn)
    try:
        await _tables(conn)
        rows = _rows()
        await copy_contacts(conn, "ours", rows)
        await conn.copy_records_to_table("theirs", records=rows, columns=CONTACT_COLUMNS)
        # The values, and their text as the server has it (the same JSON, the same array).
        select = f"SELECT {', '.join(CONTACT_COLUMNS)}, tags::text AS t, custom::text AS j"
        ours = await conn.fetch(f"{select} FROM ours ORDER BY id")
        theirs = await conn.fetch(f"{select} FROM theirs ORDER BY id")
        assert len(ours) == len(rows)
        assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
        # What was read back is what was written (not only the same on both sides).
        by_id = {r["id"]: r for r in ours}
        assert by_id["c_2"]["name"] == rows[1][5] and by_id["c_2"]["tags"] == rows[1][10]
        assert by_id["c_4"]["tags"] == ["a", None, "b"] and by_id["c_1"]["custom"] == {}
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("at", "value", "error"),
    [
        (5, "a NUL \x00 in a name", asyncpg.PostgresError),  # refused by the server
        (5, "a lone surrogate \ud800", UnicodeEncodeError),
        (7, "2026-01-01", TypeError),  # a timestamptz must be a date or datetime
        (3, 42, TypeError),  # a text must be a str
    ],
)
async def test_what_asyncpg_refuses_is_refused(stack, at: int, value: Any, error: Any) -> None:
    conn = await db.connect(stack.dsn)
    try:
        await _tables(conn)
        row = list(_rows()[0])
        row[at] = value
        with pytest.raises(error):
            await copy_contacts(conn, "ours", [tuple(row)])
        with pytest.raises(error):
            await conn.copy_records_to_table(
                "theirs", records=[tuple(row)], columns=CONTACT_COLUMNS
            )
    finally:
        await conn.close()


async def test_a_value_refused_after_the_first_piece_ends_the_copy(stack) -> None:
    """The stream goes out piece by piece: a value refused in a later piece fails the COPY
    with the same error, nothing of it is kept, and the connection goes on once the
    transaction is rolled back."""
    conn = await db.connect(stack.dsn)
    try:
        await _tables(conn)
        good = _rows()[0]
        rows = [(f"r_{i}", *good[1:]) for i in range(pgcopy.PIECE + 10)]
        rows.append(("r_bad", *good[1:5], 42, *good[6:]))  # a name that is not a str
        with pytest.raises(TypeError):
            async with conn.transaction():
                await copy_contacts(conn, "ours", rows)
        assert await conn.fetchval("SELECT count(*) FROM ours") == 0
        await copy_contacts(conn, "ours", rows[:-1])
        assert await conn.fetchval("SELECT count(*) FROM ours") == len(rows) - 1
    finally:
        await conn.close()


def test_a_row_of_another_width_is_refused() -> None:
    encode = pgcopy.encoder([pgcopy.TEXT, pgcopy.TEXT])
    with pytest.raises(ValueError):
        b"".join(encode([("a", "b", "c")]))
    assert b"".join(encode([])) == b"".join(encode(()))
