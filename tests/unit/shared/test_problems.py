"""An import's problems grouped by cause with example rows (shared/problems.py ``grouped``): the
sentences of one cause group together whatever value they quote, the counts come from the
chunks' tallies, the example rows from the report's rows and, past what was read, from later
chunks."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shared import problems

NO_AT = "'not-an-email' is not a valid email address: it has no '@'"
NOTHING_AFTER = "'bob@' is not a valid email address: it has nothing after '@'"
NO_DOT = "'x@y' is not a valid email address: the part after '@' needs a dot, as in example.com"
NO_COUNTRY = (
    "phone: '07700 900001' has no country calling code: write it as +44… (or 0044…) with its"
    " own country code, or set default_country"
)
SHORT = "phone: '+44 1' is too short for a phone number"
CELLS = "row has 3 cells, the header has 5"


@pytest.mark.parametrize(
    ("texts", "cause"),
    [
        ([NO_AT, NOTHING_AFTER, NO_DOT], "email.invalid"),
        ([NO_COUNTRY, NO_COUNTRY.replace("07700 900001", "020 7946 0958")], "phone.no_country"),
        ([SHORT, "phone: '12345678901234567' is too long for a phone number"], "phone.invalid"),
        ([CELLS, "row has 7 cells, the header has 5"], "file.cells"),
        (["email is missing: every row needs an email address"], "email.missing"),
        ([problems.left_out(NO_COUNTRY)], "phone.no_country"),
        (
            [
                "custom attribute 'seats' is integer: 'many' is not a whole number",
                "custom attribute 'seats' is integer: '1.5' is not a whole number",
            ],
            "custom.seats.invalid",
        ),
        (
            [
                "the database refused this record: 'x' cannot be stored",
                "the database refused this record: 'yy' cannot be stored",
            ],
            "other.the database refused this record: … cannot be stored",
        ),
    ],
)
def test_sentences_about_one_cause_group_together(texts: Sequence[str], cause: str) -> None:
    assert {problems.cause(t) for t in texts} == {cause}


def test_counts_are_the_tallies_and_examples_the_first_rows() -> None:
    tallies = [
        {"e:email.invalid": [3, 2], "e:phone.no_country": [1, 3], "e:file.cells": [1, 7]},
        {"e:email.invalid": [2, 12]},
    ]
    rows = [
        (2, [NO_AT], []),
        (3, [NO_DOT, NO_COUNTRY], []),  # two causes: counted under both
        (5, [NOTHING_AFTER], []),
        (7, [CELLS], []),
        (12, [NO_AT], []),
        (14, [NO_DOT], []),
    ]
    got = problems.grouped(tallies, rows, read_through=14)
    assert [(g["cause"], g["rows"], g["example_rows"]) for g in got] == [
        ("email.invalid", 5, [2, 3, 5]),
        ("file.cells", 1, [7]),
        ("phone.no_country", 1, [3]),
    ]
    email = got[0]
    assert email["level"] == "error"
    assert email["example"] == NO_AT
    assert email["message"] == "5 emails are not valid"
    assert email["fix"] == "correct them in the file, or map another column to email"
    assert got[2]["message"] == "1 phone number has no country code"


def test_past_what_was_read_the_later_chunks_give_examples() -> None:
    tallies = [
        {"e:email.invalid": [1, 2]},
        {"e:email.invalid": [5, 120], "e:phone.invalid": [1, 150]},
        {"e:email.invalid": [2, 260]},
        {"e:email.invalid": [1, 400]},
    ]
    rows = [(2, [NO_AT], [])]  # the caller stopped reading after row 100
    got = {g["cause"]: g for g in problems.grouped(tallies, rows, read_through=100)}
    assert got["email.invalid"]["rows"] == 9
    assert got["email.invalid"]["example_rows"] == [2, 120, 260]
    assert got["email.invalid"]["example"] == NO_AT
    assert got["phone.invalid"]["example_rows"] == [150]
    assert got["phone.invalid"]["example"] is None  # not read: the report has it


def test_warnings_come_after_errors_with_their_own_fix() -> None:
    tallies = [
        {
            "w:phone.no_country": [40, 1],
            "e:email.invalid": [2, 5],
            "w:" + problems.DUPLICATE: [1, 9],
        }
    ]
    rows = [(1, [], [problems.left_out(NO_COUNTRY)]), (5, [NO_AT], []), (6, [NO_DOT], [])]
    got = problems.grouped(tallies, rows, read_through=10**9)
    assert [(g["level"], g["cause"]) for g in got] == [
        ("error", "email.invalid"),
        ("warning", "phone.no_country"),
        ("warning", problems.DUPLICATE),
    ]
    assert got[1]["example_rows"] == [1]
    assert got[1]["fix"].startswith("choose a default country")
    # "Appears twice" lives in a dry run's diff only: its example is the chunk's first row.
    assert got[2]["example_rows"] == [9]


def test_a_row_with_one_cause_twice_is_one_example() -> None:
    tallies = [{"e:email.invalid": [2, 4]}]
    rows = [(4, [NO_AT, NO_DOT], []), (8, [NO_AT], [])]
    [group] = problems.grouped(tallies, rows, read_through=8, examples=3)
    assert group["example_rows"] == [4, 8]


def test_no_tallies_no_groups() -> None:
    assert problems.grouped([], [(1, [NO_AT], [])], read_through=1) == []
