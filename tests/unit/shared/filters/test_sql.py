"""The filter language as SQL (shared.filters.sql): user values and attribute names travel as
parameters only, placeholders are numbered and cast, `in` is a hashable subquery."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from shared.filters import CASE_COLLATION, FilterContext, to_sql
from tests.support.filters import NOW
from tests.unit.shared.filters._helpers import CTX, cond

# --- SQL: user values and attribute names travel as parameters only ------------------------

EVIL = "x'); DROP TABLE contacts; --"


def test_to_sql_never_puts_values_or_names_in_the_text() -> None:
    ctx = FilterContext(
        {EVIL: "string", EVIL + "n": "integer", EVIL + "d": "date", EVIL + "b": "boolean"},
        {"seg": {"field": "tag", "op": "contains", "value": EVIL + "seg"}},
        NOW,
    )
    leaves = [
        cond(f"custom.{EVIL}", op, v)
        for op, v in [("eq", EVIL), ("ne", EVIL), ("contains", EVIL), ("starts_with", EVIL)]
    ] + [
        cond(f"custom.{EVIL}", "ends_with", EVIL),
        cond(f"custom.{EVIL}", "in", [EVIL, "%_\\"]),
        cond(f"custom.{EVIL}", "exists"),
        cond(f"custom.{EVIL}n", "gte", 12345),
        cond(f"custom.{EVIL}n", "in", [12345]),
        cond(f"custom.{EVIL}d", "eq", "2015-01-01"),
        cond(f"custom.{EVIL}d", "after", {"days_ago": 3}),
        cond(f"custom.{EVIL}b", "ne", True),
        cond(f"custom.{EVIL}zz", "eq", EVIL),
        cond("tag", "eq", EVIL),
        cond("tag", "in", [EVIL]),
        cond("email", "ends_with", EVIL),
        cond(f"event:{EVIL}", "gt", 12345),
        cond("segment", "eq", "seg"),
    ]
    sql, params = to_sql({"or": [{"and": leaves}, {"not": {"or": leaves}}]}, ctx, "c", 1)
    lowered = sql.lower()
    for needle in ("drop", "12345", "2015", "x'", "--", "%", "\\", "seg"):
        assert needle not in lowered, needle
    assert EVIL in params and EVIL + "n" in params
    assert any(EVIL.lower().replace(".", "-") in str(p) for p in params)  # the event name
    assert EVIL + "seg" in params
    # every placeholder carries a cast, and they number the parameters exactly
    numbers = sorted({int(n) for n in re.findall(r"\$(\d+)", sql)})
    assert numbers == list(range(1, len(params) + 1))
    assert re.findall(r"\$\d+(?!\d|::)", sql) == []


def test_to_sql_numbers_placeholders_from_first_param() -> None:
    sql, params = to_sql(
        {"and": [cond("email", "eq", "a"), cond("custom.seats", "gt", 1)]}, CTX, "p", 3
    )
    assert sorted({int(n) for n in re.findall(r"\$(\d+)", sql)}) == [3, 4, 5]
    assert params == ["a", "seats", Decimal(1)]
    # case-insensitive under an explicit collation: the database's default (C) is ASCII-only
    assert f"lower((p.email) COLLATE {CASE_COLLATION})" in sql
    assert "p.email" in sql and "p.custom" in sql and "c." not in sql


def test_to_sql_constants() -> None:
    assert to_sql({"and": []}, CTX) == ("TRUE", [])
    assert to_sql({"or": []}, CTX) == ("FALSE", [])
    assert to_sql(cond("custom.missing", "ne", "x"), CTX) == ("TRUE", [])
    assert to_sql(cond("custom.missing", "eq", "x"), CTX) == ("FALSE", [])


@pytest.mark.parametrize("alias", ["c; DROP TABLE contacts", "", "1c", "_fe", "c.x"])
def test_to_sql_rejects_odd_aliases(alias: str) -> None:
    with pytest.raises(ValueError, match="alias"):
        to_sql({"and": []}, CTX, alias)


def test_in_is_a_subquery_postgresql_can_hash() -> None:
    for field in ("email", "custom.seats"):
        sql, _ = to_sql(
            {"field": field, "op": "in", "value": ["1", "2"] if field == "email" else [1, 2]}, CTX
        )
        assert "FROM unnest(" in sql and "= ANY (SELECT" in sql, sql
