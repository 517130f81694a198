"""Reading JSON arrays and NDJSON record by record (shared/jsonfile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared import jsonfile
from shared.errors import FileProblem

CASES = [
    (
        '[{"a": 1}, {"b": [1, 2]} , 12345678901234, "x"]',
        [{"a": 1}, {"b": [1, 2]}, 12345678901234, "x"],
    ),
    ("[]", []),
    ('\ufeff [ {"é": "ü"} ]\n', [{"é": "ü"}]),
]


@pytest.fixture(params=["whole", "streamed"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "streamed":
        monkeypatch.setattr(jsonfile, "WHOLE_FILE_BYTES", 0)
        monkeypatch.setattr(jsonfile, "BLOCK", 5)  # records straddle every block boundary
    return str(request.param)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "body"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "values"), CASES)
def test_arrays(tmp_path: Path, mode: str, text: str, values: list[object]) -> None:
    records = list(jsonfile.iter_records(_write(tmp_path, text)))
    assert [r.value for r in records] == values
    assert [r.row for r in records] == list(range(1, len(values) + 1))
    assert all(r.error is None for r in records)


@pytest.mark.parametrize("text", ['[{"a": 1},', '[{"a": 1} {"b": 2}]', "[] x", '[{"a": ]', "[1, 2"])
def test_broken_arrays(tmp_path: Path, mode: str, text: str) -> None:
    with pytest.raises(FileProblem):
        list(jsonfile.iter_records(_write(tmp_path, text)))


def test_streamed_records_keep_their_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonfile, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(jsonfile, "BLOCK", 3)
    path = _write(tmp_path, '[ {"a":  1},\n 17 ]')
    assert [r.original() for r in jsonfile.iter_records(path)] == ['{"a":  1}', "17"]


def test_ndjson_skips_blank_lines_and_reports_broken_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"a": 1}\n\n  \n{broken\n{"b": 2}')
    records = list(jsonfile.iter_records(path))
    assert [(r.row, r.value) for r in records] == [(1, {"a": 1}), (2, None), (3, {"b": 2})]
    assert records[1].error is not None and "record 2 is not valid JSON" in records[1].error
    assert records[1].original() == "{broken"


@pytest.mark.parametrize(
    ("text", "fmt"), [("  [1]", "json"), ('\n{"a": 1}', "ndjson"), ("\ufeff[", "json")]
)
def test_detect_format(tmp_path: Path, text: str, fmt: str) -> None:
    assert jsonfile.detect_format(_write(tmp_path, text)) == fmt


@pytest.mark.parametrize("text", ["", "   \n", "email,name", "1"])
def test_detect_format_refuses(tmp_path: Path, text: str) -> None:
    with pytest.raises(FileProblem):
        jsonfile.detect_format(_write(tmp_path, text))


def test_read_texts(tmp_path: Path, mode: str) -> None:
    path = _write(tmp_path, '[{"a": 1}, {"b": 2}, {"c": 3}]')
    texts = jsonfile.read_texts(path, {1, 3})
    assert set(texts) == {1, 3}
    assert texts[3].replace(" ", "") == '{"c":3}'
    assert jsonfile.read_texts(tmp_path / "missing", {1}) == {}
