"""Pieces of the remote and JSON sources that need no network (services/parser/sources)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from services.parser.sources import SourceFailed
from services.parser.sources.jsonfile import batches
from services.parser.sources.mailchimp import data_center, origin
from services.parser.sources.remote import Snapshot, retry_after
from shared.jsonfile import JsonRecord


@pytest.mark.parametrize(
    ("header", "seconds"), [(None, None), ("3", 3.0), ("junk", None), ("999999", 3600.0)]
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    headers = {"Retry-After": header} if header else {}
    assert retry_after(httpx.Response(429, headers=headers)) == seconds


def test_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    wait = retry_after(httpx.Response(503, headers={"Retry-After": when}))
    assert wait is not None and 25 <= wait <= 30


def test_mailchimp_origin_from_the_key() -> None:
    assert data_center("0123abcd-us6") == "us6"
    assert data_center("0123abcd") is None
    assert origin("0123abcd-us21", None) == "https://us21.api.mailchimp.com"
    assert origin("whatever", "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    with pytest.raises(SourceFailed):
        origin("0123abcd", None)


def test_snapshot_keeps_only_applied_rows(tmp_path: Path) -> None:
    path = tmp_path / "snap"
    snapshot = Snapshot(path, 0)
    snapshot.append([b'{"n":1}', b'{"n":2}', b'{"n":3}'])
    snapshot.close()
    resumed = Snapshot(path, 2)  # two rows were applied; the third must be pulled again
    resumed.append([b'{"n":33}'])
    resumed.close()
    assert path.read_bytes() == b'{"n":1}\n{"n":2}\n{"n":33}\n'


def _records(*roles: str | None) -> list[JsonRecord]:
    return [JsonRecord(i, {"role": role} if role else {}, None) for i, role in enumerate(roles, 1)]


def test_api_chunks_split_where_the_role_changes() -> None:
    records = _records(None, "user", "lead", "lead", "lead", None)
    assert [(kind, [r.row for r in batch]) for kind, batch in batches(records, 2, None)] == [
        ("users", [1, 2]),
        ("leads", [3, 4]),
        ("leads", [5]),
        ("users", [6]),
    ]
    # A fixed kind (mixpanel_file) ignores roles.
    assert [len(b) for _, b in batches(records, 4, "leads")] == [4, 2]
