"""Pieces of the remote, JSON and CSV sources that need no network (services/parser/sources)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from services.parser.sources import SourceFailed
from services.parser.sources.csv import _chars, _estimate_rows
from services.parser.sources.jsonfile import batches
from services.parser.sources.mailchimp import MailchimpSource, data_center, origin
from services.parser.sources.remote import Snapshot, retry_after
from shared.csvfile import Detected, iter_records
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


# -- what a vendor (or a hostile base_url) can do to a pull -------------------------------------


class _Ctx:
    """What RemoteSource.request needs of an import context: settings and a clock."""

    def __init__(self, max_wait_s: float = 1800.0) -> None:
        from shared.settings import Settings

        self.settings = Settings(pull_max_wait_s=max_wait_s)
        self.waits: list[float] = []

    async def wait(self, seconds: float) -> None:
        self.waits.append(seconds)


def _source() -> MailchimpSource:
    source = MailchimpSource()
    source.secrets = ["k-secret-us6"]
    source.waited = 0.0
    return source


async def _ask(handler, ctx: _Ctx | None = None) -> httpx.Response:
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(
        base_url="https://us6.api.mailchimp.com", transport=transport
    ) as c:
        return await _source().request(ctx or _Ctx(), c, "GET", "/3.0/lists/L/members")


async def test_a_body_that_does_not_decode_fails_the_import() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"plain text")

    with pytest.raises(SourceFailed, match="body that could not be decoded"):
        await _ask(handler)


@pytest.mark.parametrize(
    "error",
    [OverflowError("connect(): port must be 0-65535."), ValueError("x"), httpx.InvalidURL("y")],
)
async def test_anything_a_request_raises_fails_the_import(error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(SourceFailed, match=f"the request failed \\({type(error).__name__}\\)"):
        await _ask(handler)


async def test_an_address_the_guard_refuses_fails_the_import_saying_not_allowed() -> None:
    from shared.errors import Refused
    from shared.outbound import NOT_ALLOWED

    def handler(request: httpx.Request) -> httpx.Response:
        raise Refused(NOT_ALLOWED)

    with pytest.raises(SourceFailed, match="base_url: the address is not allowed"):
        await _ask(handler)


async def test_a_vendor_that_keeps_asking_to_wait_is_given_up_on() -> None:
    """Retry-After is honoured, but a pull waits at most pull_max_wait_s in all (probe H1: a
    hostile URL could hold a pull slot for about 30 hours)."""
    ctx = _Ctx(max_wait_s=1800)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "600"})

    with pytest.raises(SourceFailed, match=r"kept answering 429.*waiting 30 minutes in all"):
        await _ask(handler, ctx)
    assert ctx.waits == [600.0, 600.0, 600.0]


async def test_a_vendors_own_words_are_shown_on_one_line_and_short() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"title": "Resource\nNot Found", "detail": "internal \x1b[31m" + "x" * 1000}
        return httpx.Response(404, json=body)

    with pytest.raises(SourceFailed) as caught:
        await _ask(handler)
    message = str(caught.value)
    assert message.startswith("MailChimp refused the import (404): Resource Not Found: internal")
    assert "\n" not in message and "\x1b" not in message and len(message) < 400


def test_records_that_json_cannot_hold_are_still_written_to_the_snapshot() -> None:
    from shared import jsonfile

    assert jsonfile.dumps({"n": 10**40}) == b'{"n": 10000000000000000000000000000000000000000}'
    assert jsonfile.dumps({"s": "\ud800"}) == b'{"s": "\\ud800"}'
    assert jsonfile.loads(b'{"n": 100000000000000000000000000000}') == {"n": 10**29}
    assert jsonfile.loads(b'{"n": 18446744073709551615}') == {"n": 2**64 - 1}


async def test_mailchimp_pages_through_a_429_in_milliseconds() -> None:
    """Paging and back-off without a network: a MockTransport vendor, a recorded clock."""
    members = [{"email_address": f"m{i}@x.io"} for i in range(2500)]
    asked: list[int] = []
    limited = {"once": True}

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        asked.append(offset)
        if offset == 1000 and limited.pop("once", False):
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"title": "slow down"})
        page = members[offset : offset + int(request.url.params["count"])]
        return httpx.Response(200, json={"members": page, "total_items": len(members)})

    ctx = _Ctx()
    ctx.options = {"list_id": "L1", "page_size": 1000, "status": "subscribed"}  # type: ignore[attr-defined]
    source = _source()
    source.transport = httpx.MockTransport(handler)
    async with source.client(ctx, {"api_key": "k-secret-us6"}) as client:  # type: ignore[arg-type]
        pages = [p async for p in source.pages(ctx, client, 0)]  # type: ignore[arg-type]
    assert [len(p.items) for p in pages] == [1000, 1000, 500] and pages[-1].last
    assert ctx.waits == [2.0]  # the vendor's Retry-After, not a real sleep
    assert sorted(asked) == [0, 1000, 1000, 2000]


class _Conn:
    async def execute(self, *args: object) -> None:
        pass


class _Pool:
    """Where the pull saves its session (nothing to keep in this test)."""

    def acquire(self) -> _Pool:
        return self

    async def __aenter__(self) -> _Conn:
        return _Conn()

    async def __aexit__(self, *exc: object) -> None:
        pass


class _OutOfBudget(Exception):
    pass


class _BudgetCtx(_Ctx):
    """A Mixpanel pull's context; a wait for the hourly budget stops the test."""

    def __init__(self, workspace_id: str) -> None:
        super().__init__()
        self.workspace_id = workspace_id
        self.import_id = f"imp_{workspace_id}"
        self.options = {"project_id": "42", "region": "us"}
        self.row = {"source_state": None}
        self.pool = _Pool()

    async def wait(self, seconds: float) -> None:
        raise _OutOfBudget(seconds)


async def test_the_mixpanel_budget_is_each_workspaces_own(monkeypatch) -> None:
    """M6: the hourly query budget is counted per workspace and service account, so another
    workspace naming the same project (even with the same account) cannot spend it."""
    from services.parser.sources import mixpanel
    from services.parser.sources.remote import HourlyLimit

    monkeypatch.setattr(mixpanel, "QUERY_LIMIT", HourlyLimit(1))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [{"$distinct_id": "1"}], "page_size": 1000})

    secret = {"username": "svc.user", "secret": "s3cret-value"}

    async def pull(workspace_id: str) -> int:
        source = mixpanel.MixpanelSource()
        source.secrets = list(secret.values())
        source.waited = 0.0
        source.transport = httpx.MockTransport(handler)
        ctx = _BudgetCtx(workspace_id)
        async with source.client(ctx, secret) as client:  # type: ignore[arg-type]
            return len([p async for p in source.pages(ctx, client, 0)])  # type: ignore[arg-type]

    assert await pull("ws_a") == 1
    assert await pull("ws_b") == 1  # its own budget, untouched by ws_a's query
    with pytest.raises(_OutOfBudget):
        await pull("ws_a")  # ws_a's one query of the hour is spent


def test_the_estimate_of_a_files_records_comes_down_to_them_as_it_is_read(
    tmp_path: Path,
) -> None:
    """A CSV whose later records are longer (growing ids): estimated from what was read so
    far, the estimate is never below the file's records and closes in on them."""
    path = tmp_path / "people.csv"
    path.write_text("email,user_id\n" + "".join(f"p{i}@example.com,u{i}\n" for i in range(20_000)))
    detected = Detected("utf-8", ",")
    records = list(iter_records(path, detected))
    size = path.stat().st_size
    estimates = []
    chars = 0
    for end in range(1000, 20_001, 1000):  # chunks of 1,000 records, as CsvSource counts them
        chars += _chars(records[end - 1000 : end])
        estimates.append(_estimate_rows(end, chars, size, detected))
    assert estimates == sorted(estimates, reverse=True)
    assert all(e is not None and e >= 20_000 for e in estimates)
    assert estimates[0] > 22_000
    # Within 0.05 % at the end: the header (one record's size), and each chunk counted on its
    # first 500 records (shorter ids than the rest of it here).
    assert 20_001 <= estimates[-1] <= 20_010
