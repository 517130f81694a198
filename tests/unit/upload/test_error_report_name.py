"""The error report's download is named after the uploaded file (the UI review's P14)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from services.upload.error_report import content_disposition, download_name


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("signups.csv", "signups - errors.csv"),
        ("Shopify export 2024.CSV", "Shopify export 2024 - errors.csv"),
        ("people", "people - errors.csv"),
        (".hidden", ".hidden - errors.csv"),
        ('C:\\Users\\ann\\a "b".csv', "a b - errors.csv"),
        ("dir/x.tar.csv", "x.tar - errors.csv"),
        ("", "errors-imp_1.csv"),
        (None, "errors-imp_1.csv"),
        ("   ", "errors-imp_1.csv"),
    ],
)
def test_the_download_is_named_after_the_file(file_name: str | None, expected: str) -> None:
    assert download_name(file_name, "imp_1") == expected


def test_any_name_travels_in_the_header() -> None:
    header = content_disposition("Müller; ü – errors.csv")
    assert header.startswith("attachment; filename=\"M_ller; _ _ errors.csv\"; filename*=UTF-8''")
    assert unquote(header.split("''", 1)[1]) == "Müller; ü – errors.csv"
    assert "\n" not in header and header.isascii()
