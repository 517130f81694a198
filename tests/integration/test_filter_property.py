"""`matches` (in memory) and `to_sql` (PostgreSQL) agree on every person (SPEC §5.1).

Random filters over every field kind and operator, evaluated on random people both ways: the ids
the SQL selects must be exactly the ids `matches` accepts. Values come from small pools full of
edge cases (case variants, LIKE wildcards, final sigma, midnight ± 1µs, 0.1, mistyped custom
values) so that conditions actually hit. Needs the `pg_pool` fixture (tests/conftest.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.filters import CASE_COLLATION, FilterContext, fold, matches, to_sql, validate
from shared.values import normalize_event_name
from tests.support.filters import ATTRIBUTE_TYPES, MIDNIGHT_2015, NOW, US, VIPS

pytestmark = pytest.mark.infra

CTX = FilterContext(
    attribute_types=ATTRIBUTE_TYPES,
    segments={
        "vips": VIPS,
        "pro": {
            "or": [
                {"field": "custom.plan", "op": "eq", "value": "pro"},
                {"field": "custom.seats", "op": "gt", "value": 2},
            ]
        },
        "vips_not_pro": {
            "and": [
                {"field": "segment", "op": "eq", "value": "vips"},
                {"not": {"field": "segment", "op": "eq", "value": "pro"}},
            ]
        },
    },
    now=NOW,
)

# Characters whose lower-casing is interesting (the last three are newer than Python 3.11's
# Unicode tables); the test at the bottom checks that fold() agrees on every code point.
ALPHABET = "aAbBpPrRoO09 %_\\'\"-.éÉóÓßẞΣσςİıKkǅǆﬁ\ua7cb\U00010d50\U00010d70"
TEXT_POOL = [
    "",
    "pro",
    "Pro",
    "PRO",
    "pró",
    "PRÓ",
    "vip",
    "VIP",
    "x%y",
    "X_Y",
    "a\\b",
    "o'neil",
    "O'Neil",
    "İstanbul",
    "istanbul",
    "ΣΑΣ",
    "σας",
    "σασ",
    "straße",
    "STRASSE",
    "New Sign-Ups 2015",
    "new sign-ups 2015",
    " pro ",
]
texts = st.one_of(
    st.sampled_from(TEXT_POOL),
    st.sampled_from(TEXT_POOL),
    st.text(alphabet=ALPHABET, max_size=4),
)
# filter values: whole pool values, and pieces of them so contains/starts_with/ends_with hit
PIECES = sorted(
    {t[:n] for t in TEXT_POOL for n in (1, 2, 3)}
    | {t[-n:] for t in TEXT_POOL for n in (1, 2, 3)}
    | {"%", "_", "\\", "'", "sign", "-c1", "-C2"}
)
text_values = st.one_of(
    st.sampled_from(TEXT_POOL),
    st.sampled_from(PIECES),
    st.text(alphabet=ALPHABET, max_size=3),
)

DATE_POOL = [
    MIDNIGHT_2015,
    MIDNIGHT_2015 - US,
    MIDNIGHT_2015 + US,
    MIDNIGHT_2015 + timedelta(days=1) - US,
    MIDNIGHT_2015 + timedelta(hours=10),
    NOW - timedelta(days=7),
    NOW - timedelta(days=7) + US,
    NOW - timedelta(days=7) - US,
    datetime(2024, 6, 12, tzinfo=UTC),
    datetime(2024, 6, 12, tzinfo=UTC) - US,
    datetime(2024, 6, 13, tzinfo=UTC) - US,
    NOW,
]
OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
dates = st.one_of(
    st.sampled_from(DATE_POOL),
    st.sampled_from(DATE_POOL).map(lambda d: d.astimezone(OFFSETS[2])),
    st.datetimes(
        min_value=datetime(2014, 1, 1),
        max_value=datetime(2025, 1, 1),
        timezones=st.sampled_from(OFFSETS),
    ),
)
date_values = st.one_of(
    st.sampled_from(
        [
            "2015-01-01",
            "01/01/2015",
            "1/1/2015",
            "2015-01-02",
            "2015-01-01T00:00:00Z",
            "2015-01-01T10:00:00+02:00",
            "2014-12-31T23:00:00-05:00",
            1420070400,
            {"days_ago": 0},
            {"days_ago": 3},
            {"days_ago": 7},
        ]
    ),
    dates.map(lambda d: d.isoformat()),  # exact instants of the people's values
)
NUMBER_POOL = [0, 1, 2, 3, -1, 0.1, 0.2, 0.30000000000000004, 1.5, -2.5, 10**20, 1e16]
numbers = st.one_of(st.sampled_from(NUMBER_POOL), st.integers(-5, 5))

TEXT_FIELDS = ["id", "role", "user_id", "email", "name", "phone", "last_seen_ip"]
DATE_FIELDS = ["signed_up_at", "last_seen_at", "created_at", "updated_at", "custom.renewal"]
EVENT_FIELDS = ["event:signed-up", "event:Signed.Up", "event:PAID", "event:never"]
EVENT_NAMES = ["signed-up", "paid", "other"]
TEXT_OPS = ["eq", "ne", "contains", "starts_with", "ends_with", "in", "exists", "not_exists"]
NUMBER_OPS = ["eq", "ne", "in", "gt", "gte", "lt", "lte", "exists", "not_exists"]
DATE_OPS = ["eq", "ne", "before", "after", "gt", "gte", "lt", "lte", "exists", "not_exists"]
ALL_OPS = [*TEXT_OPS, "gt", "gte", "lt", "lte", "before", "after"]


FIELDS: list[tuple[str, str]] = [
    *((field, "text") for field in [*TEXT_FIELDS, "tag", "custom.plan", "custom.PLAN"]),
    *((field, "number") for field in ["custom.seats", "custom.score", *EVENT_FIELDS]),
    *((field, "date") for field in DATE_FIELDS),
    ("custom.vip", "boolean"),
    ("custom.missing", "unknown"),  # the workspace has no such attribute
    ("segment", "segment"),
]
OPS: dict[str, list[str]] = {
    "text": TEXT_OPS,
    "number": NUMBER_OPS,
    "date": DATE_OPS,
    "boolean": ["eq", "ne", "exists", "not_exists"],
    "unknown": ALL_OPS,
    "segment": ["eq", "ne"],
}


def values_for(kind: str, op: str) -> st.SearchStrategy[Any]:
    if kind == "text":
        return text_values
    if kind == "number":
        return numbers
    if kind == "date":
        return date_values
    if kind == "boolean":
        return st.booleans()
    if kind == "segment":
        return st.sampled_from(sorted(CTX.segments))
    # unknown attribute: any type's value is accepted if it fits the operator
    if op in ("contains", "starts_with", "ends_with"):
        return st.just("pro")
    if op in ("before", "after"):
        return st.just("2015-01-01")
    if op in ("gt", "gte", "lt", "lte"):
        return st.sampled_from([3, "2015-01-01"])
    return st.sampled_from(["pro", 3, True, "2015-01-01"])


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    field, kind = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(OPS[kind]))
    if op in ("exists", "not_exists"):
        return {"field": field, "op": op}
    values = values_for(kind, op)
    if op == "in":
        return {"field": field, "op": op, "value": draw(st.lists(values, min_size=1, max_size=3))}
    return {"field": field, "op": op, "value": draw(values)}


def value_of(person: dict[str, Any], field: str) -> Any:
    """A person's raw value behind `field` (one of their tags for "tag")."""
    if field == "tag":
        return person["tags"]
    if field.startswith("custom."):
        return person["custom"].get(field.removeprefix("custom.").lower())
    if field.startswith("event:"):
        return person["events"].get(normalize_event_name(field.removeprefix("event:")), 0)
    return person.get(field)


@st.composite
def derived_conditions(draw: st.DrawFn, stored: list[dict[str, Any]]) -> dict[str, Any]:
    """A condition whose value is taken from one of the people, so that it is likely to hit."""
    field, kind = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from([op for op in OPS[kind] if op not in ("exists", "not_exists")]))
    have = value_of(draw(st.sampled_from(stored)), field)
    if isinstance(have, list):
        have = draw(st.sampled_from(have)) if have else None
    value: Any = None
    if kind == "text" and isinstance(have, str):
        i = draw(st.integers(0, len(have)))
        j = draw(st.integers(i, len(have)))
        piece = {"contains": have[i:j], "starts_with": have[:j], "ends_with": have[i:]}
        text = piece.get(op, have)
        value = draw(st.sampled_from([text, text.upper(), text.lower(), text.swapcase()]))
    elif kind == "number" and isinstance(have, int | float) and not isinstance(have, bool):
        value = draw(st.sampled_from([have, have + 1, have - 1]))
    elif kind == "date" and isinstance(have, datetime | str):
        when = have if isinstance(have, datetime) else datetime.fromisoformat(have)
        day = when.astimezone(UTC).date()
        value = draw(
            st.sampled_from(
                [
                    when.isoformat(),
                    when.astimezone(UTC).isoformat(),
                    day.isoformat(),
                    f"{day.day:02d}/{day.month:02d}/{day.year}",
                    {"days_ago": max(0, (NOW.date() - day).days)},
                ]
            )
        )
    if value is None:
        return draw(conditions())
    if op == "in":
        value = [value, *draw(st.lists(values_for(kind, op), max_size=2))]
    return {"field": field, "op": op, "value": value}


def nested(leaves: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda items: {"and": items}),
            st.lists(children, max_size=3).map(lambda items: {"or": items}),
            children.map(lambda child: {"not": child}),
        ),
        max_leaves=8,
    )


@st.composite
def custom_values(draw: st.DrawFn) -> dict[str, Any]:
    """Custom attributes as stored: mostly well-typed, sometimes absent, null or mistyped."""
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "plan": st.one_of(texts, st.just(5)),
        "seats": st.one_of(st.integers(-3, 5), st.sampled_from([10**20, "3", True])),
        "score": st.one_of(st.sampled_from([0.1, 0.3, 1.1, 2.675]), numbers, st.just("0.1")),
        "vip": st.one_of(st.booleans(), st.just(1)),
        # as shared.values.coerce writes them (UTC), other offsets, or a mistyped number
        "renewal": st.one_of(
            dates.map(lambda d: d.astimezone(UTC).isoformat()),
            dates.map(lambda d: d.isoformat()),
            st.just(1420070400),
        ),
        "missing": st.sampled_from(["pro", 5]),
    }
    custom: dict[str, Any] = {}
    for name, values in candidates.items():
        choice = draw(st.sampled_from(["value", "value", "absent", "null"]))
        if choice == "value":
            custom[name] = draw(values)
        elif choice == "null":
            custom[name] = None
    # JSON round trip: what the database stores is what a reader gets back
    result: dict[str, Any] = json.loads(json.dumps(custom))
    return result


maybe_text = st.one_of(st.none(), texts)
people = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "lead"]),
        "user_id": maybe_text,
        "email": maybe_text,
        "name": maybe_text,
        "phone": maybe_text,
        "last_seen_ip": maybe_text,
        "signed_up_at": st.one_of(st.none(), dates),
        "last_seen_at": st.one_of(st.none(), dates),
        "created_at": dates,
        "updated_at": dates,
        "tags": st.lists(st.sampled_from(TEXT_POOL[1:]), max_size=3),
        "custom": custom_values(),
        "events": st.dictionaries(st.sampled_from(EVENT_NAMES), st.integers(0, 3)),
    }
)


async def insert(
    conn: asyncpg.Connection, workspace: str, raw: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store the people (and their events) in `workspace`; return them with their ids."""
    await conn.execute(
        "INSERT INTO workspaces (id, name, token_hash, webhook_secret) VALUES ($1, $1, $1, 'x')",
        workspace,
    )
    stored: list[dict[str, Any]] = []
    seen_user_ids: set[str] = set()
    for i, person in enumerate(raw):
        contact = dict(person, id=f"{workspace}-c{i}")
        if contact["user_id"] in seen_user_ids:  # unique per workspace
            contact["user_id"] = None
        if contact["user_id"] is not None:
            seen_user_ids.add(contact["user_id"])
        contact["events"] = {k: v for k, v in contact["events"].items() if v}
        stored.append(contact)
    await conn.executemany(
        """
        INSERT INTO contacts (id, workspace_id, role, user_id, email, name, phone, signed_up_at,
                              last_seen_at, last_seen_ip, tags, custom, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13, $14)
        """,
        [
            (
                c["id"],
                workspace,
                c["role"],
                c["user_id"],
                c["email"],
                c["name"],
                c["phone"],
                c["signed_up_at"],
                c["last_seen_at"],
                c["last_seen_ip"],
                c["tags"],
                json.dumps(c["custom"]),  # sent as text: works with or without a jsonb codec
                c["created_at"],
                c["updated_at"],
            )
            for c in stored
        ],
    )
    await conn.executemany(
        "INSERT INTO events (workspace_id, contact_id, name, created_at) VALUES ($1, $2, $3, $4)",
        [
            (workspace, c["id"], name, NOW - timedelta(minutes=n))
            for c in stored
            for name, count in c["events"].items()
            for n in range(count)
        ],
    )
    return stored


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.lists(people, min_size=1, max_size=12), data=st.data())
async def test_sql_selects_exactly_the_people_matches_accepts(
    pg_pool: asyncpg.Pool, raw: list[dict[str, Any]], data: st.DataObject
) -> None:
    workspace = f"ws-filter-{uuid.uuid4().hex}"
    async with pg_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            stored = await insert(conn, workspace, raw)
            leaves = st.one_of(conditions(), derived_conditions(stored))
            composite = data.draw(st.lists(nested(leaves), min_size=1, max_size=6), "composite")
            # lone conditions show a wrong leaf most directly
            single = data.draw(st.lists(leaves, min_size=10, max_size=30), "single")
            cases = composite + single
            # As the messenger uses it: the filter in a WHERE clause.
            for filter_ in cases[:2]:
                validate(filter_, CTX)
                sql, params = to_sql(filter_, CTX, alias="c", first_param=2)
                rows = await conn.fetch(
                    f"SELECT c.id FROM contacts c WHERE c.workspace_id = $1 AND {sql}",
                    workspace,
                    *params,
                )
                expected = {c["id"] for c in stored if matches(filter_, c, CTX)}
                assert {r["id"] for r in rows} == expected, (filter_, sql, params)
            # Every filter at once, one column each (placeholders numbered on from each other):
            # each must be exactly TRUE or FALSE for every person, never NULL.
            columns, params = [], [workspace]
            for filter_ in cases:
                sql, more = to_sql(filter_, CTX, alias="c", first_param=len(params) + 1)
                columns.append(sql)
                params += more
            rows = await conn.fetch(
                f"SELECT c.id, {', '.join(columns)} FROM contacts c WHERE c.workspace_id = $1",
                *params,
            )
            by_id = {c["id"]: c for c in stored}
            assert len(rows) == len(stored)
            for row in rows:
                for n, filter_ in enumerate(cases):
                    expected_match = matches(filter_, by_id[row["id"]], CTX)
                    assert row[n + 1] is expected_match, (filter_, by_id[row["id"]], columns[n])
        finally:
            await tx.rollback()


async def test_fold_matches_postgres_lower_for_every_code_point(pg_pool: asyncpg.Pool) -> None:
    # Only the code points that lower() changes travel; every other one must stay put in Python.
    lower = f"lower(chr(cp) COLLATE {CASE_COLLATION})"
    async with pg_pool.acquire() as conn:
        rows = await conn.fetch(
            f"""
            SELECT cp, {lower} AS lowered
            FROM generate_series(1, 1114111) AS cp
            WHERE cp NOT BETWEEN 55296 AND 57343 AND {lower} <> chr(cp)
            """
        )
        in_context = await conn.fetchval(
            f"SELECT lower($1::text COLLATE {CASE_COLLATION})", "ΟΔΟΣ İΣ"
        )
    postgres = {chr(r["cp"]): r["lowered"] for r in rows}
    python = {
        chr(cp): fold(chr(cp))
        for cp in range(1, 0x110000)
        if not 0xD800 <= cp <= 0xDFFF and fold(chr(cp)) != chr(cp)
    }
    assert len(postgres) > 1000  # not just ASCII
    assert python == postgres
    # and in context: Python's own str.lower() would turn a final Σ into ς
    assert in_context == fold("ΟΔΟΣ İΣ") == "οδοσ iσ"
