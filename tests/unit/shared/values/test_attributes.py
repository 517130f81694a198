"""Custom attributes (SPEC §2.2): attribute names, type inference and coercion, with fuzz tests
for shared.values.attributes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidValue
from shared.values import (
    ATTRIBUTE_TYPES,
    STANDARD_FIELDS,
    check_attribute_name,
    coerce,
    infer_type,
    storable,
)
from tests.unit.shared.values._helpers import ACCEPTED_FORMS, _date_like, _date_orders, _numberish

# ---------------------------------------------------------------- custom attributes


@pytest.mark.parametrize(
    "name", ["plan", "Plan Level", "x", "a" * 190, "créé_le", "user id", "emails", "tag", "e-mail"]
)
def test_check_attribute_name_accepts(name: str) -> None:
    assert check_attribute_name(name) == []


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("", ["empty"]),
        ("a" * 191, ["191 characters long: at most 190"]),
        ("plan.level", ["contains '.'"]),
        ("$plan", ["contains '$'"]),
        ("a.b$", ["contains '.'", "contains '$'"]),
        ("plan\tlevel", ["control character"]),
        ("plan\x7f", ["control character"]),
        (" plan", ["starts or ends with a space"]),
        ("plan ", ["starts or ends with a space"]),
        ("email", ["standard field"]),
        ("User_ID", ["standard field"]),
        ("custom_attributes", ["standard field"]),
        (" Email", ["starts or ends with a space", "standard field"]),
        (" a.b\n" + "x" * 190, ["190", "contains '.'", "control", "space"]),
    ],
)
def test_check_attribute_name_rejects(name: str, fragments: list[str]) -> None:
    problems = check_attribute_name(name)
    assert len(problems) == len(fragments)
    for problem, fragment in zip(problems, fragments, strict=True):
        assert fragment in problem


def test_standard_field_names_are_all_refused() -> None:
    assert len(STANDARD_FIELDS) == 13
    for field in STANDARD_FIELDS:
        assert check_attribute_name(field) != []
        assert check_attribute_name(field.upper()) != []


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (["1", "2", "-3", "+4", "0"], "integer"),
        (["1", "", "  ", "2"], "integer"),
        (["9223372036854775807", "-9223372036854775808"], "integer"),
        (["9223372036854775808"], "string"),
        (["12345678901234567890"], "string"),
        (["007", "008"], "string"),
        (["1", "2.5"], "float"),
        (["1.5", "-0.25", "1e3", ".5"], "float"),
        (["1e999"], "string"),
        (["nan"], "string"),
        (["inf", "1.0"], "string"),
        (["1,5"], "string"),
        (["true", "False", "YES", "no"], "boolean"),
        (["yes", "1"], "string"),
        (["1", "0"], "integer"),
        (["2015-12-31", "31/12/2015", "2015-12-31T23:59:00Z"], "date"),
        (["2023-01-05 14:03:22"], "date"),
        (["31/12/2015", "1420070400"], "string"),
        (["1420070400"], "integer"),
        (["12/31/2015"], "string"),
        (["31/02/2015"], "string"),
        (["2015-12-31", "soon"], "string"),
        (["pro", "free"], "string"),
        ([], "string"),
        (["", "   "], "string"),
        ([None, 3, 4], "integer"),
        ([3, 4.5], "float"),
        ([True, "no"], "boolean"),
        ([True, 1], "string"),
    ],
)
def test_infer_type(samples: list[str | int | float | bool | None], expected: str) -> None:
    assert infer_type(samples) == expected


def test_infer_type_dates_follow_date_order() -> None:
    assert infer_type(["12/31/2015", "01/02/2015"], "MDY") == "date"
    assert infer_type(["31/12/2015"], "MDY") == "string"


def test_infer_type_reads_a_generator_once() -> None:
    assert infer_type(str(i) for i in range(1000)) == "integer"


@pytest.mark.parametrize(
    ("raw", "type_", "expected"),
    [
        ("42", "integer", 42),
        (" -42 ", "integer", -42),
        ("+7", "integer", 7),
        ("007", "integer", 7),
        ("3.0", "integer", 3),
        ("0", "integer", 0),
        (42, "integer", 42),
        (42.0, "integer", 42),
        ("9223372036854775807", "integer", 2**63 - 1),
        ("1.5", "float", 1.5),
        ("2", "float", 2.0),
        ("-1e3", "float", -1000.0),
        (".5", "float", 0.5),
        (3, "float", 3.0),
        (2.25, "float", 2.25),
        ("true", "boolean", True),
        ("Yes", "boolean", True),
        ("1", "boolean", True),
        ("FALSE", "boolean", False),
        ("no", "boolean", False),
        ("0", "boolean", False),
        (True, "boolean", True),
        (0, "boolean", False),
        ("31/12/2015", "date", "2015-12-31T00:00:00+00:00"),
        ("2015-12-31T23:59:00+01:00", "date", "2015-12-31T22:59:00+00:00"),
        ("1420070400", "date", "2015-01-01T00:00:00+00:00"),
        (1420070400000, "date", "2015-01-01T00:00:00+00:00"),
        ("pro", "string", "pro"),
        ("  pro plan ", "string", "pro plan"),
        ("x" * 255, "string", "x" * 255),
        (12, "string", "12"),
        (1.5, "string", "1.5"),
        (True, "string", "true"),
        ("", "string", ""),
    ],
)
def test_coerce_accepts(
    raw: str | int | float | bool, type_: str, expected: str | int | float | bool
) -> None:
    result = coerce(raw, type_, "attr")
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("raw", "type_", "message"),
    [
        ("abc", "integer", "custom attribute 'plan_level' is integer: 'abc' is not a whole number"),
        ("1.5", "integer", "is integer: '1.5' is not a whole number"),
        ("1e3", "integer", "not a whole number"),
        ("", "integer", "not a whole number"),
        ("9223372036854775808", "integer", "outside the 64-bit range"),
        (True, "integer", "not a whole number"),
        (1.5, "integer", "not a whole number"),
        (math.inf, "integer", "not a whole number"),
        ("abc", "float", "is float: 'abc' is not a number"),
        ("nan", "float", "not a number"),
        ("inf", "float", "not a number"),
        ("1e999", "float", "not a number"),
        ("1,5", "float", "not a number"),
        (math.nan, "float", "not a number"),
        (10**400, "float", "not a number"),
        (False, "float", "not a number"),
        ("maybe", "boolean", "is boolean: 'maybe' is not true/false/yes/no/1/0"),
        (2, "boolean", "not true/false"),
        ("", "boolean", "not true/false"),
        ("31-12-2015", "date", f"is date: '31-12-2015' is not a date: {ACCEPTED_FORMS}"),
        ("12/31/2015", "date", "set date_order to MDY"),
        ("31/12/2015 10h00", "date", "has a time after the date"),
        (True, "date", "is not a date"),
        ("x" * 256, "string", "is string: the value is 256 characters long, at most 255"),
    ],
)
def test_coerce_rejects(raw: str | int | float | bool, type_: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        coerce(raw, type_, "plan_level")


def test_coerce_dates_follow_date_order() -> None:
    assert coerce("12/31/2015", "date", "d", "MDY") == "2015-12-31T00:00:00+00:00"


def test_coerce_unknown_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown attribute type"):
        coerce("1", "decimal", "x")


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**40, "1" * 25])
def test_integers_beyond_64_bits_are_errors_not_floats(value: int | str) -> None:
    with pytest.raises(InvalidValue, match="outside the 64-bit range"):
        coerce(value, "integer", "n")


# ---------------------------------------------------------------- properties and fuzzing


@given(st.lists(st.text(max_size=30) | _date_like | _numberish | st.sampled_from(["yes", "No"])))
def test_infer_type_result_always_coerces(samples: list[str]) -> None:
    type_ = infer_type(samples)
    assert type_ in ATTRIBUTE_TYPES
    for sample in samples:
        # A value PostgreSQL cannot store (NUL) fails its row before inference sees it.
        if sample.strip() and len(sample.strip()) <= 255 and storable(sample) == sample:
            coerce(sample, type_, "attr")  # what inference chose must accept every sample


@given(
    st.text() | _numberish | _date_like | st.integers() | st.floats() | st.booleans(),
    st.sampled_from(ATTRIBUTE_TYPES),
    _date_orders,
)
def test_coerce_never_fails_unexpectedly(
    raw: str | int | float | bool, type_: str, order: str
) -> None:
    try:
        result = coerce(raw, type_, "attr", order)
    except InvalidValue as e:
        assert str(e).startswith(f"custom attribute 'attr' is {type_}: ")
        return
    expected_type = {"string": str, "integer": int, "float": float, "boolean": bool, "date": str}
    assert type(result) is expected_type[type_]
    if isinstance(result, float):
        assert math.isfinite(result)
