"""Messy and hostile CSV files, through the HTTP API and the whole pipeline."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.support.api import Api
from tests.support.env import MAX_UPLOAD

MAPPING = {"email": "email", "name": "name"}


@pytest.fixture(scope="module")
def api(services) -> Api:
    return Api.new_workspace(services.base_url, "files")


def _import(api: Api, content: bytes, **body):
    uploaded = api.upload(content)
    api.start(uploaded["id"], **{"mapping": MAPPING, **body})
    return uploaded, api.wait(uploaded["id"])


def test_utf8_bom(api: Api) -> None:
    uploaded, done = _import(api, "\ufeffemail,name\nbom@example.com,Zoë\n".encode())
    assert uploaded["detected"]["encoding"] == "utf-8-sig"
    assert uploaded["columns"] == ["email", "name"]
    assert done["counts"] == {
        "rows": 1,
        "created": 1,
        "updated": 0,
        "failed": 0,
        "unchanged": 0,
        "warnings": 0,
    }
    assert api.all_users(email="bom@example.com")[0]["name"] == "Zoë"


def test_windows_1252_with_semicolons_and_crlf(api: Api) -> None:
    content = "email;name\r\nmuller@example.com;Müller €\r\n".encode("cp1252")
    uploaded, done = _import(api, content)
    assert uploaded["detected"] == {"encoding": "cp1252", "delimiter": ";"}
    assert done["counts"]["created"] == 1
    assert api.all_users(email="muller@example.com")[0]["name"] == "Müller €"


def test_utf16_with_bom_and_tabs(api: Api) -> None:
    content = "email\tname\nutf16@example.com\tŁukasz\n".encode("utf-16")
    uploaded, _done = _import(api, content)
    assert uploaded["detected"] == {"encoding": "utf-16", "delimiter": "\t"}
    assert api.all_users(email="utf16@example.com")[0]["name"] == "Łukasz"


def test_quoted_newlines_and_delimiters(api: Api) -> None:
    # A name is one line (a line break in it is a row error); a note may hold several.
    content = (
        b'email,name,note\nq1@example.com,"Smith, Jane","First line\nSecond line"\n'
        b'q2@example.com,"Pipe | ok",x\n'
    )
    _, done = _import(api, content, custom_attributes={"note": "note"})
    assert done["counts"] == {
        "rows": 2,
        "created": 2,
        "updated": 0,
        "failed": 0,
        "unchanged": 0,
        "warnings": 0,
    }
    person = api.all_users(email="q1@example.com")[0]
    assert (person["name"], person["custom_attributes"]["note"]) == (
        "Smith, Jane",
        "First line\nSecond line",
    )


def test_ragged_rows_are_row_errors_with_their_cells(api: Api) -> None:
    content = b"email,name\nr1@example.com,One\nr2@example.com\nr3@example.com,Three,extra\n"
    uploaded, done = _import(api, content)
    assert done["counts"] == {
        "rows": 3,
        "created": 1,
        "updated": 0,
        "failed": 2,
        "unchanged": 0,
        "warnings": 0,
    }
    report = api.ok("GET", f"/api/imports/{uploaded['id']}/errors", params={"format": "json"})
    rows = {r["row"]: r for r in report["data"]}
    assert set(rows) == {2, 3}
    assert "1 cell" in rows[2]["errors"][0] and rows[2]["values"] == {"email": "r2@example.com"}
    assert rows[3]["values"]["(extra 1)"] == "extra"


def test_duplicate_headers_get_suffixes(api: Api) -> None:
    content = b"email,name,name\nd@example.com,First,Second\n"
    uploaded = api.upload(content)
    assert uploaded["columns"] == ["email", "name", "name (2)"]
    api.start(uploaded["id"], mapping={"email": "email", "name": "name (2)"})
    assert api.wait(uploaded["id"])["counts"]["created"] == 1
    assert api.all_users(email="d@example.com")[0]["name"] == "Second"


@pytest.mark.slow
def test_hundred_thousand_rows(api: Api) -> None:
    lines = ["email,user_id,name,signed_up"]
    lines += [f"big{i}@example.com,big{i},Big {i},{1 + i % 28:02d}/03/2015" for i in range(100_000)]
    uploaded = api.upload(("\n".join(lines) + "\n").encode())
    api.start(
        uploaded["id"],
        mapping={
            "email": "email",
            "user_id": "user_id",
            "name": "name",
            "signed_up_at": "signed_up",
        },
        tag="big",
    )
    done = api.wait(uploaded["id"], timeout_s=300)
    assert done["counts"] == {
        "rows": 100_000,
        "created": 100_000,
        "updated": 0,
        "failed": 0,
        "unchanged": 0,
        "warnings": 0,
    }
    print(f"\n100,000-row import: {done['rows_per_second']:,.0f} rows/s (start to completed)")
    assert len(api.all_users(tag="big")) == 100_000


# -- hostile files: a clear 4xx, or a failed import with a useful message --------------------


def _problem(api: Api, content: bytes, name: str = "people.csv") -> tuple[int, str]:
    response = api.request("POST", "/api/imports", files={"file": (name, content)})
    return response.status_code, response.json()["error"]["message"]


def test_empty_file(api: Api) -> None:
    status, message = _problem(api, b"")
    assert status == 422 and "empty" in message


def test_header_only(api: Api) -> None:
    uploaded = api.upload(b"email,name\n")
    assert uploaded["preview"] == []
    response = api.request(
        "POST", f"/api/imports/{uploaded['id']}/start", json={"mapping": MAPPING}
    )
    assert response.status_code == 422 and "no rows" in response.json()["error"]["message"]


def test_binary_garbage_and_zip(api: Api) -> None:
    status, message = _problem(api, bytes(range(256)) * 64)
    assert status == 422 and "CSV" in message
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("people.csv", "email\na@b.co\n")
    status, message = _problem(api, archive.getvalue())
    assert status == 422 and "ZIP" in message


def test_nul_bytes_are_row_errors(api: Api) -> None:
    content = b"email,name\nok1@example.com,A\nnul@example.com,B\x00C\nok2@example.com,D\n"
    _, done = _import(api, content)
    assert done["counts"] == {
        "rows": 3,
        "created": 2,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }


def test_invalid_utf8_in_the_middle_is_a_row_error(api: Api) -> None:
    good = "".join(f"u{i}@example.com,Zoë {i}\n" for i in range(20_000)).encode()
    content = b"email,name\n" + good + b"bad@example.com,\xff\xfe\n" + b"last@example.com,Ana\n"
    uploaded, done = _import(api, content)
    assert uploaded["detected"]["encoding"] == "utf-8"
    assert done["counts"] == {
        "rows": 20_002,
        "created": 20_001,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }
    report = api.ok("GET", f"/api/imports/{uploaded['id']}/errors", params={"format": "json"})
    assert report["data"][0]["row"] == 20_001 and "utf-8" in report["data"][0]["errors"][0]


def test_five_thousand_columns(api: Api) -> None:
    header = ",".join(f"c{i}" for i in range(5000))
    status, message = _problem(api, (header + "\n" + ",".join("x" * 5000) + "\n").encode())
    assert status == 422 and "5000 columns" in message


def test_ten_megabyte_cell(api: Api) -> None:
    content = (
        b"email,name\nhuge@example.com," + b"x" * (10 * 1024 * 1024) + b"\nfine@example.com,ok\n"
    )
    _uploaded, done = _import(api, content)
    assert done["counts"] == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "failed": 1,
        "unchanged": 0,
        "warnings": 0,
    }


def test_one_byte_over_the_limit(api: Api) -> None:
    status, message = _problem(api, b"e" * (MAX_UPLOAD + 1))
    assert status == 413 and "limit" in message
    assert api.upload(b"email\nlimit@example.com\n")["status"] == "uploaded"


def test_path_traversal_file_name_is_only_display_text(api: Api, services) -> None:
    uploaded = api.upload(b"email\ntraversal@example.com\n", name="../../etc/passwd.csv")
    assert uploaded["file_name"] == "passwd.csv"
    stored = list(services.storage_dir.iterdir())
    assert all(p.parent == services.storage_dir for p in stored)
    assert not any("passwd" in p.name for p in stored)


def test_formula_cells_are_neutralised_in_the_error_report(api: Api) -> None:
    content = b'email,name\n=HYPERLINK("http://x"),@SUM(A1)\n'
    uploaded, done = _import(api, content)
    assert done["counts"]["failed"] == 1
    report = api.request("GET", f"/api/imports/{uploaded['id']}/errors").text
    assert "'=HYPERLINK" in report and "'@SUM(A1)" in report


def test_attribute_names_that_look_like_sql_are_data(api: Api) -> None:
    name = "plan'); DROP TABLE contacts; --"
    content = b"email,x\nsql@example.com,pro\n"
    _, done = _import(api, content, mapping={"email": "email"}, custom_attributes={"x": name})
    assert done["counts"]["created"] == 1
    person = api.all_users(email="sql@example.com")[0]
    assert person["custom_attributes"] == {name: "pro"}
    bad = api.upload(content)
    response = api.request(
        "POST",
        f"/api/imports/{bad['id']}/start",
        json={"mapping": {"email": "email"}, "custom_attributes": {"x": "a.b", "email": "$x"}},
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert any("a.b" in d or "'.'" in d for d in details) and len(details) >= 2


def test_start_reports_every_problem_at_once(api: Api) -> None:
    uploaded = api.upload(b"email,name\na@example.com,A\n")
    response = api.request(
        "POST",
        f"/api/imports/{uploaded['id']}/start",
        json={"mapping": {"name": "nope", "phone": "missing"}, "default_country": "XX"},
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert len(details) == 4, details  # two unknown columns, no email, bad country
