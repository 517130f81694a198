"""Unit tests for shared.csvfile: detection, header/preview, streaming records, mapping, tags."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import csvfile
from shared.csvfile import (
    Detected,
    FileProblem,
    Record,
    detect,
    iter_records,
    open_text,
    read_header_and_preview,
)
from shared.csvfile import reader as csv_reader

UTF8 = Detected("utf-8", ",")


def write(tmp_path: Path, data: bytes | str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def rows(path: Path, detected: Detected | None = None, start_row: int = 1) -> list[Record]:
    return list(iter_records(path, detected or detect(path), start_row))


def problem(fn: object, *args: object) -> str:
    assert callable(fn)
    with pytest.raises(FileProblem) as info:
        fn(*args)
    return str(info.value)


# ------------------------------------------------------------------------------------------
# encodings


def test_utf8_without_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\njurgen@example.com,Jürgen Müller\n")
    d = detect(path)
    assert d == Detected("utf-8", ",")
    columns, preview = read_header_and_preview(path, d)
    assert columns == ["email", "name"]
    assert preview == [["jurgen@example.com", "Jürgen Müller"]]
    assert rows(path) == [Record(1, ["jurgen@example.com", "Jürgen Müller"], None)]


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + "email;name\r\na@x.io;Zoë\r\n".encode())
    d = detect(path)
    assert d == Detected("utf-8-sig", ";")
    assert read_header_and_preview(path, d) == (["email", "name"], [["a@x.io", "Zoë"]])
    assert rows(path) == [Record(1, ["a@x.io", "Zoë"], None)]


def test_bom_dropped_from_header_even_if_read_as_plain_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + b"email,name\na@x.io,A\n")
    columns, _ = read_header_and_preview(path, UTF8)
    assert columns == ["email", "name"]


@pytest.mark.parametrize(
    ("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
)
def test_utf16_with_bom(tmp_path: Path, bom: bytes, codec: str) -> None:
    text = 'Email\tName\tCity\r\nano@example.jp\t山田 太郎\tTōkyō\r\nb@x.io\t"Doe\tJ"\t€\r\n'
    path = write(tmp_path, bom + text.encode(codec))
    d = detect(path)
    assert d == Detected("utf-16", "\t")
    columns, preview = read_header_and_preview(path, d)
    assert columns == ["Email", "Name", "City"]
    assert preview[0] == ["ano@example.jp", "山田 太郎", "Tōkyō"]
    assert [r.cells for r in rows(path)] == [
        ["ano@example.jp", "山田 太郎", "Tōkyō"],
        ["b@x.io", "Doe\tJ", "€"],
    ]
    assert all(r.error is None for r in rows(path))


def test_windows_1252_with_semicolons(tmp_path: Path) -> None:
    text = "Name;E-Mail;Betrag\r\nMüller;mueller@example.de;1,50 €\r\nCoeur;c@example.fr;œuvre\r\n"
    path = write(tmp_path, text.encode("cp1252"))
    d = detect(path)
    assert d == Detected("cp1252", ";")
    assert [r.cells for r in rows(path)] == [
        ["Müller", "mueller@example.de", "1,50 €"],
        ["Coeur", "c@example.fr", "œuvre"],
    ]


def test_multibyte_character_cut_by_the_sample_is_still_utf8(tmp_path: Path) -> None:
    head = "email,name\n"
    path = write(tmp_path, head + "a@x.io,ü\n")
    cut = len(head.encode()) + len(b"a@x.io,") + 1  # in the middle of "ü" (2 bytes)
    assert detect(path, sample_bytes=cut).encoding == "utf-8"
    # but a file that really ends in half a character is not UTF-8
    assert detect(write(tmp_path, b"email\n\xc3", "cut.csv")).encoding == "cp1252"


def test_invalid_utf8_in_the_middle_is_a_row_error(tmp_path: Path) -> None:
    good = "".join(f"user{i}@example.com,Jürgen {i}\n" for i in range(3000))
    data = b"email,name\n" + good.encode() + b"bad@example.com,M\xfcller\xff\n" + good.encode()
    path = write(tmp_path, data)
    d = detect(path, sample_bytes=4096)
    assert d.encoding == "utf-8"  # the sample was clean
    records = rows(path, d)
    assert len(records) == 6001
    bad = records[3000]
    assert bad.row == 3001
    assert bad.cells == ["bad@example.com", "M\ufffdller\ufffd"]
    assert bad.error is not None
    assert "row contains bytes that are not valid utf-8 (0xFC, 0xFF" in bad.error
    assert [r.row for r in records if r.error] == [3001]
    assert records[3001] == Record(3002, ["user0@example.com", "Jürgen 0"], None)


def test_undefined_cp1252_byte_is_a_row_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"email;name\na@x.de;M\xfcller\nb@x.de;bad\x81\n")
    d = detect(path)
    assert d == Detected("cp1252", ";")
    records = rows(path, d)
    assert records[0] == Record(1, ["a@x.de", "Müller"], None)
    assert records[1].cells == ["b@x.de", "bad\ufffd"]
    assert records[1].error is not None and "not valid cp1252 (0x81" in records[1].error


def test_broken_utf16_becomes_row_errors_not_a_crash(tmp_path: Path) -> None:
    body = "a\tb\r\n1\t2".encode("utf-16-le") + b"\x00\xd8" + "x\r\n3\t4\r\n".encode("utf-16-le")
    path = write(tmp_path, codecs.BOM_UTF16_LE + body + b"\x00")  # a lone surrogate, odd length
    records = rows(path)
    assert [r.row for r in records] == [1, 2, 3]
    assert records[0].error is not None and "not valid utf-16" in records[0].error
    assert records[1] == Record(2, ["3", "4"], None)
    assert records[2].error is not None  # the stray last byte is reported, not dropped


def test_encoding_override(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\na@x.de,Müller\n".encode("latin-1"))
    assert rows(path, Detected("latin-1", ",")) == [Record(1, ["a@x.de", "Müller"], None)]
    assert "unknown encoding" in problem(rows, path, Detected("klingon", ","))
    assert "unknown encoding" in problem(rows, path, Detected("rot13", ","))
    assert "invalid delimiter" in problem(rows, path, Detected("utf-8", ";;"))
    assert "invalid delimiter" in problem(read_header_and_preview, path, Detected("utf-8", '"'))


def test_open_text_is_strict_by_default(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n\xff\n")
    with open_text(path, "utf-8") as f, pytest.raises(UnicodeDecodeError):
        f.read()
    with open_text(path, "utf-8", errors="replace") as f:
        assert f.read() == "a\n\ufffd\n"
    with open_text(write(tmp_path, b"a\r\nb\r\n", "crlf.csv"), "utf-8") as f:
        assert f.read() == "a\r\nb\r\n"  # newline='' keeps the line ends for the csv module


# ------------------------------------------------------------------------------------------
# delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    table = [["email", "name", "plan"], ["a@x.io", "Ann, the 1st; ok", "pro"], ["b@x.io", "B", ""]]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(table)
    path = write(tmp_path, buf.getvalue())
    d = detect(path)
    assert d.delimiter == delimiter
    assert read_header_and_preview(path, d) == (table[0], table[1:])
    assert [r.cells for r in rows(path, d)] == table[1:]


def test_delimiter_heuristics(tmp_path: Path) -> None:
    def sniff(text: str) -> str:
        return detect(write(tmp_path, text, "s.csv")).delimiter

    # decimal commas in every row do not beat the semicolons of the header
    assert sniff("Name;Betrag;Email\nA;1,5;a@x\nB;2,5;b@x\nC;3,5;c@x\n") == ";"
    # delimiters inside quotes do not count, also across lines
    assert sniff('"Name, full";Email\n"Doe, J";a@x\n"multi\nline, yes";b@x\n') == ";"
    assert sniff("email\na@x\nb@x\n") == ","  # one column
    assert sniff("email|name\n") == "|"  # header only
    assert sniff("a\tb\tc\n1\t2\t3\n4\t5\t6\n") == "\t"
    # a comma-separated file whose names contain a pipe
    assert sniff("email,name\na@x,A|B\nb@x,C\n") == ","
    # a tie goes to the comma
    assert sniff("a,b;c\n1,2;3\n") == ","
    # a blank first line is not the header
    assert sniff("\n\nemail;name\na;b\n") == ";"


# ------------------------------------------------------------------------------------------
# records: quoting, line ends, blanks, ragged rows


def test_quoted_fields_with_delimiters_newlines_and_quotes(tmp_path: Path) -> None:
    text = (
        "email,name,notes\r\n"
        'a@x.io,"Doe, Jane","said ""hi""\r\nand left"\r\n'
        'b@x.io,Bob,"three\nlines\rhere"\r\n'
        '"c@x.io",,""\r\n'
    )
    path = write(tmp_path, text)
    assert rows(path) == [
        Record(1, ["a@x.io", "Doe, Jane", 'said "hi"\nand left'], None),
        Record(2, ["b@x.io", "Bob", "three\nlines\nhere"], None),
        Record(3, ["c@x.io", "", ""], None),
    ]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_ends(tmp_path: Path, newline: str) -> None:
    lines = ["email,name", "a@x.io,A", "", 'b@x.io,"B', 'two"', "c@x.io,C"]
    path = write(tmp_path, newline.join(lines))  # and no line break at the end
    assert [r.cells for r in rows(path, UTF8)] == [
        ["a@x.io", "A"],
        ["b@x.io", "B\ntwo"],
        ["c@x.io", "C"],
    ]


def test_mixed_line_ends(tmp_path: Path) -> None:
    # Excel on Windows: CRLF between rows, LF inside cells
    path = write(tmp_path, 'email,note\r\na@x,"one\ntwo"\r\nb@x,x\nc@x,y\rd@x,z\r\n')
    assert [r.cells for r in rows(path, UTF8)] == [
        ["a@x", "one\ntwo"],
        ["b@x", "x"],
        ["c@x", "y"],
        ["d@x", "z"],
    ]


def test_ragged_rows_are_row_errors_and_keep_their_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c,d,e\n1,2,3\n1,2,3,4,5,6\n1,2,3,4,5\nx\n")
    assert rows(path) == [
        Record(1, ["1", "2", "3"], "row has 3 cells, the header has 5"),
        Record(2, ["1", "2", "3", "4", "5", "6"], "row has 6 cells, the header has 5"),
        Record(3, ["1", "2", "3", "4", "5"], None),
        Record(4, ["x"], "row has 1 cell, the header has 5"),
    ]


def test_blank_lines_are_skipped_and_not_counted(tmp_path: Path) -> None:
    text = "\n\n  \nemail;name\n\na@x;A\n;\n \t; \n\r\nb@x;B\n;\n\n"
    path = write(tmp_path, text)
    d = detect(path)
    assert d.delimiter == ";"
    assert read_header_and_preview(path, d) == (["email", "name"], [["a@x", "A"], ["b@x", "B"]])
    assert rows(path, d) == [Record(1, ["a@x", "A"], None), Record(2, ["b@x", "B"], None)]


def test_a_blank_first_cell_is_not_a_blank_row(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,email\n,a@x\n  ,b@x\n\xa0,c@x\n")
    assert [r.row for r in rows(path, UTF8)] == [1, 2, 3]


def test_header_only(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\r\n")
    assert read_header_and_preview(path, detect(path)) == (["email", "name"], [])
    assert rows(path) == []


def test_preview_rows(tmp_path: Path) -> None:
    text = "email\n" + "".join(f"u{i}@x\n\n" for i in range(30))
    path = write(tmp_path, text)
    columns, preview = read_header_and_preview(path, UTF8)
    assert columns == ["email"]
    assert preview == [[f"u{i}@x"] for i in range(10)]
    assert read_header_and_preview(path, UTF8, preview_rows=3)[1] == [["u0@x"], ["u1@x"], ["u2@x"]]


def test_start_row_skips_records_already_handled(tmp_path: Path) -> None:
    text = 'email,n\n\na@x,1\nb@x,"2\n2"\n\nc@x,3\nd@x,4,4\n'
    path = write(tmp_path, text)
    everything = rows(path, UTF8)
    assert [r.row for r in everything] == [1, 2, 3, 4]
    for start in range(0, 7):
        assert rows(path, UTF8, start) == [r for r in everything if r.row >= start]


def test_records_built_on_the_fast_path_are_ordinary_frozen_records(tmp_path: Path) -> None:
    record = rows(write(tmp_path, "email\na@x\n"))[0]
    assert type(record) is Record
    assert record == Record(1, ["a@x"], None)
    assert repr(record) == "Record(row=1, cells=['a@x'], error=None)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.row = 2  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# header problems and names


def test_duplicate_and_blank_headers(tmp_path: Path) -> None:
    text = " Email ,Name,Email,,email,Email, ,Email (2)\n1,2,3,4,5,6,7,8\n"
    columns, _ = read_header_and_preview(write(tmp_path, text), UTF8)
    assert columns == [
        "Email",
        "Name",
        "Email (3)",  # "Email (2)" belongs to the last column
        "Column 4",
        "email",
        "Email (4)",
        "Column 7",
        "Email (2)",
    ]
    assert len(set(columns)) == len(columns)


def test_duplicate_headers_simple(tmp_path: Path) -> None:
    columns, _ = read_header_and_preview(write(tmp_path, "Email,Email,Email\n"), UTF8)
    assert columns == ["Email", "Email (2)", "Email (3)"]


@pytest.mark.parametrize(
    "data", [b"", codecs.BOM_UTF8, b"\n\n", b"\r\n  \r\n", b",,,\n, ,\n", codecs.BOM_UTF16_LE]
)
def test_no_header(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    if b"," not in data:  # only delimiters is not "empty" yet, but has no header either
        assert "empty" in problem(detect, path)
    encoding = "utf-16" if data.startswith(codecs.BOM_UTF16_LE) else "utf-8-sig"
    d = Detected(encoding, ",")
    assert "no header row" in problem(read_header_and_preview, path, d)
    assert "no header row" in problem(rows, path, d)


def test_too_many_columns(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(5000))
    path = write(tmp_path, header + "\n" + ",".join("x" * 5000) + "\n")
    message = problem(read_header_and_preview, path, detect(path))
    assert message.startswith("the file has 5000 columns; Usher imports at most 1000")
    assert problem(rows, path, UTF8).startswith("the file has 5000 columns")
    ok = write(tmp_path, ",".join(f"c{i}" for i in range(1000)) + "\n", "ok.csv")
    assert len(read_header_and_preview(ok, UTF8)[0]) == 1000


def test_header_cell_too_long(tmp_path: Path) -> None:
    path = write(tmp_path, "email," + "n" * 1001 + "\n")
    assert "1001 characters" in problem(read_header_and_preview, path, UTF8)
    ok = write(tmp_path, "email," + "n" * 1000 + "\n", "ok.csv")
    assert read_header_and_preview(ok, UTF8)[0][1] == "n" * 1000


# ------------------------------------------------------------------------------------------
# not a CSV, NUL, huge cells


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00some.csv", "this file looks like a ZIP archive, not a CSV"),
        (b"PK\x03\x04\x14\x00[Content_Types].xml", "Excel workbook (.xlsx"),
        (b"\x1f\x8b\x08\x00\x00\x00", "gzip"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel 97-2003"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
        (b"\xff\xfe\x00\x00e\x00\x00\x00", "UTF-32"),
        (b"<!DOCTYPE html><html><body>", "HTML"),
    ],
)
def test_not_a_csv(tmp_path: Path, data: bytes, expected: str) -> None:
    assert expected in problem(detect, write(tmp_path, data))


def test_binary_data(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(50_000)
    assert "binary" in problem(detect, write(tmp_path, noise))
    # not UTF-8 and a NUL byte: binary
    assert "binary" in problem(detect, write(tmp_path, b"name\nM\xfcller\x00\n", "nul.csv"))


def test_utf16_without_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\r\na@x,A\r\n".encode("utf-16-le"))
    assert "UTF-16 (little-endian)" in problem(detect, path)
    path = write(tmp_path, "email,name\r\na@x,A\r\n".encode("utf-16-be"), "be.csv")
    assert "UTF-16 (big-endian)" in problem(detect, path)


def test_nul_in_a_row_is_a_row_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"email,name\na@x,A\x00B\nb@x,B\n")
    d = detect(path)
    assert d == UTF8
    assert rows(path, d) == [
        Record(1, ["a@x", "A\ufffdB"], "row contains NUL characters (shown as \ufffd)"),
        Record(2, ["b@x", "B"], None),
    ]
    assert read_header_and_preview(path, d)[1][0] == ["a@x", "A\ufffdB"]


@pytest.mark.parametrize("quoted", [False, True])
def test_ten_megabyte_cell(tmp_path: Path, quoted: bool) -> None:
    big = "x" * 10_000_000
    cell = f'"{big}"' if quoted else big
    path = write(tmp_path, f"email,notes\na@x,{cell}\nb@x,short\nc@x,{'y' * 65536}\n")
    d = detect(path)
    records = rows(path, d)
    assert [r.row for r in records] == [1, 2, 3]
    assert records[0].error == "a cell is longer than 65536 characters"
    assert records[0].cells[1] == big
    assert records[1] == Record(2, ["b@x", "short"], None)
    assert records[2].error is None  # exactly the limit is fine
    _, preview = read_header_and_preview(path, d)
    assert preview[0][1] == "x" * csvfile.PREVIEW_CELL + "…"


def test_a_quote_that_never_closes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # at the end of the file the rest becomes the last cell
    path = write(tmp_path, 'email,notes\na@x,"never closed\nb@x,B\n')
    assert rows(path, UTF8) == [Record(1, ["a@x", "never closed\nb@x,B\n"], None)]
    # a cell that grows beyond FIELD_LIMIT stops the import with a clear message
    monkeypatch.setattr(csv_reader, "FIELD_LIMIT", 1000)
    path = write(tmp_path, 'email,notes\na@x,ok\nb@x,"never closed\n' + "c@x,C\n" * 500, "b.csv")
    records = iter_records(path, UTF8)
    assert next(records) == Record(1, ["a@x", "ok"], None)
    with pytest.raises(FileProblem, match="row 2 has a quoted cell that never ends"):
        next(records)


def test_a_line_longer_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_reader, "LINE_LIMIT", 100_000)
    monkeypatch.setattr(csv_reader, "_TEXT_CHUNK", 1000)
    path = write(tmp_path, "email,notes\na@x,ok\nb@x," + "z" * 200_000 + "\nc@x,C\n")
    with pytest.raises(FileProblem, match="row 2 has a line longer than 100000 characters"):
        rows(path, UTF8)


# ------------------------------------------------------------------------------------------
# batches: the same records whatever the batch size (differential test against csv.reader)


def reference(text: str, delimiter: str) -> tuple[int, list[list[str]]]:
    """What iter_records must give: csv.reader's records, blank ones dropped, header removed."""
    records = [
        [c.replace("\r\n", "\n").replace("\r", "\n") for c in cells]
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        if "".join(cells).strip()
    ]
    return len(records[0]), records[1:]


cell_text = st.text(alphabet=st.sampled_from(list('ab é,;"\r\n\t')), max_size=6)
table = st.lists(st.lists(cell_text, min_size=1, max_size=4), min_size=1, max_size=12)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=table,
    delimiter=st.sampled_from([",", ";", "\t"]),
    ends=st.lists(st.sampled_from(["\r\n", "\n", "\r"]), min_size=1, max_size=12),
    chunk=st.integers(min_value=1, max_value=40),
    trailing=st.booleans(),
)
def test_same_records_as_the_csv_module(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    table: list[list[str]],
    delimiter: str,
    ends: list[str],
    chunk: int,
    trailing: bool,
) -> None:
    buf = io.StringIO()
    for i, cells in enumerate([["h1", "h2"], *table]):
        w = csv.writer(buf, delimiter=delimiter, lineterminator=ends[i % len(ends)])
        w.writerow(cells)
    text = buf.getvalue()
    if not trailing:
        text = text.rstrip("\r\n")
    path = write(tmp_path, text, "diff.csv")
    ncols, expected = reference(text, delimiter)
    monkeypatch.setattr(csv_reader, "_TEXT_CHUNK", chunk)
    got = list(iter_records(path, Detected("utf-8", delimiter)))
    assert [r.cells for r in got] == expected
    assert [r.row for r in got] == list(range(1, len(expected) + 1))
    assert [r.error is None for r in got] == [len(c) == ncols for c in expected]
    _, preview = read_header_and_preview(path, Detected("utf-8", delimiter), 5)
    assert preview == expected[:5]
    start = chunk % 5
    resumed = list(iter_records(path, Detected("utf-8", delimiter), start))
    assert resumed == [r for r in got if r.row >= start]
