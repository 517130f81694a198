"""Hostile values through every write path, end to end (hypothesis).

NUL, CR/LF, text-direction overrides, zero-width characters, lone surrogates, very long
strings, integers beyond 64 bits, years 0 and 9999, malformed URLs — pushed through a CSV
import, a bulk JSON import, a (fake) MailChimp pull, ``POST /api/users``, the events API,
messages, segments, filters, cursors and path ids. Each must end in a 4xx or a row error, never
a 5xx; every import ends completed with exact counts; and no service restarts.

``make test`` runs the short form (``USHER_FUZZ_EXAMPLES``, default 15 per path);
``make chaos`` the long one.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.stack import Stack
from tests.support.api import Api
from tests.support.vendors import FakeMailchimp, mailchimp_member

EXAMPLES = int(os.environ.get("USHER_FUZZ_EXAMPLES", "15"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("USHER_FUZZ_RANDOM") is None,  # the same cases on every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MC_KEY = "0123456789abcdef0123456789abcdef-us6"

# Characters that break naive code: NUL, line breaks, tab, C1, bidi, zero-width, BOM, a lone
# surrogate, the noncharacters, and a few ordinary non-ASCII ones.
NASTY = "\x00\r\n\t\x1b\x85\u202e\u2066\u200b\u200d\ufeff\ud800\udfff\ufffe\uffffé漢😀"
nasty_text = st.text(alphabet=st.sampled_from(NASTY) | st.characters(), max_size=40)
long_text = st.sampled_from([x * n for x in ("a", "é", "\x00") for n in (256, 70_000)])
text = st.one_of(nasty_text, long_text, st.sampled_from(["", " ", "null", "0", "guest"]))
numbers = st.one_of(
    st.sampled_from([10**40, -(2**63) - 1, 2**63, 2**64, -(10**30)]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)
dates = st.sampled_from(
    [
        "0000-01-01",
        "0001-01-01",
        "9999-12-31T23:59:59Z",
        "10000-01-01",
        "31/02/2020",
        "1e999",
        "-99999999999999",
        "2024-13-45",
        "99999999999999999999999",
    ]
)
urls = st.sampled_from(
    [
        "http://127.0.0.1:99999/x",
        "http://[::1/x",
        "http://0177.0.0.1/x",
        "javascript:alert(1)",
        "http://%00/",
        "http://\u202e.example/",
        "http://a b/",
        "http://[::ffff:127.0.0.1]/",
        "https://" + "a" * 3000 + ".example/",
        "http://2130706433/x",
        "//no-scheme.example/",
    ]
)
scalar = st.one_of(text, numbers, dates, st.booleans(), st.none())
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
contact = st.tuples(
    st.fixed_dictionaries(
        {"email": st.one_of(text, st.sampled_from(["a@b.example", "x@y.io"]))},
        optional={
            "user_id": st.one_of(text, numbers),
            "name": value,
            "phone": st.one_of(text, numbers),
            "signed_up_at": st.one_of(dates, numbers, text),
            "last_seen_ip": text,
            "tags": st.one_of(st.lists(text, max_size=3), value),
            "custom_attributes": st.dictionaries(text, value, max_size=3),
            "role": text,
        },
    ),
    st.dictionaries(text, value, max_size=1),  # an unknown key, sometimes
).map(lambda parts: {**parts[1], **parts[0]})


JSON = {"Content-Type": "application/json"}


def _json(value: Any) -> bytes:
    """JSON text for any value, lone surrogates escaped (as a client in another language
    could send them); NaN and infinities as Python writes them (not JSON: the body is bad)."""
    return json.dumps(value, ensure_ascii=True, default=str).encode()


def _send(api: Api, method: str, path: str, value: Any) -> httpx.Response:
    """``value`` as the JSON body of a request (see :func:`_json`)."""
    return api.request(method, path, content=_json(value), headers=JSON)


@pytest.fixture(scope="module")
def steady(services: Stack) -> Iterator[tuple[Stack, Api]]:
    before = len(services.restarts)
    api = Api.new_workspace(services.base_url, "fuzz")
    yield services, api
    assert services.restarts[before:] == [], "a service restarted during the fuzzing"


def _no_5xx(response: Any, what: Any) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:500])


def _completed_exactly(api: Api, import_id: str, rows: int | None = None) -> None:
    done = api.wait(import_id, timeout_s=120)
    assert done["status"] == "completed", done
    c = done["counts"]
    assert c["created"] + c["updated"] + c["failed"] == c["rows"], c
    if rows is not None:
        assert c["rows"] == rows, c
    report = api.request("GET", f"/api/imports/{import_id}/errors", params={"format": "json"})
    _no_5xx(report, "error report")
    _no_5xx(api.request("GET", f"/api/imports/{import_id}/errors"), "CSV error report")


@FUZZ
@given(records=st.lists(contact, min_size=1, max_size=8))
def test_users_and_bulk(steady, records: list[dict[str, Any]]) -> None:
    _, api = steady
    for record in records:
        _no_5xx(
            _send(api, "POST", "/api/users", record),
            record,
        )
    bulk = _send(api, "POST", "/api/users/bulk", records)
    _no_5xx(bulk, records)
    if bulk.status_code == 202:
        _completed_exactly(api, bulk.json()["id"], len(records))


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.one_of(text, dates, numbers.map(str)), min_size=5, max_size=5),
        min_size=1,
        max_size=8,
    )
)
def test_csv_import(steady, rows: list[list[str]]) -> None:
    _, api = steady
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "name", "signed_up_at", "tags", "note"])
    for i, row in enumerate(rows):
        writer.writerow([f"f{i}@fuzz.example" if i % 2 else row[0], *row[1:]])
    data = buffer.getvalue().encode("utf-8", "surrogatepass")
    uploaded = api.request("POST", "/api/imports", files={"file": ("f.csv", data)})
    _no_5xx(uploaded, rows)
    if uploaded.status_code != 201:
        return
    body = {
        "mapping": {
            "email": "email",
            "name": "name",
            "signed_up_at": "signed_up_at",
            "tags": "tags",
        },
        "custom_attributes": {"note": "fuzz note"},
    }
    started = api.request("POST", f"/api/imports/{uploaded.json()['id']}/start", json=body)
    _no_5xx(started, rows)
    if started.status_code == 202:
        _completed_exactly(api, uploaded.json()["id"])


@FUZZ
@given(
    members=st.lists(
        st.fixed_dictionaries(
            {"email_address": text},
            optional={"merge_fields": value, "tags": value, "ip_opt": text, "timestamp_opt": value},
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_vendor_pull(steady, members: list[dict[str, Any]]) -> None:
    _, api = steady
    pulled = [{**mailchimp_member(i, "L"), **m} for i, m in enumerate(members)]
    with FakeMailchimp(MC_KEY, {"L": pulled}) as server:
        created = api.request(
            "POST",
            "/api/imports/mailchimp",
            json={"api_key": MC_KEY, "list_id": "L", "status": None, "base_url": server.base_url},
        )
        _no_5xx(created, members)
        if created.status_code == 202:
            _completed_exactly(api, created.json()["id"], len(members))


@FUZZ
@given(
    event=st.fixed_dictionaries(
        {},
        optional={
            "event_name": value,
            "created_at": st.one_of(dates, numbers, text),
            "email": text,
            "user_id": value,
            "id": value,
            "metadata": value,
        },
    )
)
def test_events(steady, event: dict[str, Any]) -> None:
    _, api = steady
    _no_5xx(
        _send(api, "POST", "/api/events", event),
        event,
    )
    _no_5xx(
        _send(api, "POST", "/api/events/bulk", [event, event]),
        event,
    )


filter_ = st.recursive(
    st.fixed_dictionaries(
        {
            "field": st.one_of(
                text,
                st.sampled_from(
                    ["email", "tag", "custom.fuzz note", "event:x", "signed_up_at", "segment"]
                ),
            ),
            "op": st.one_of(text, st.sampled_from(["eq", "in", "before", "contains", "gt"])),
            "value": value,
        }
    ),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"and": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"or": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ),
    max_leaves=5,
)


@FUZZ
@given(
    name=value,
    subject=value,
    body=value,
    url=st.one_of(urls, value),
    audience=filter_,
    channel=st.sampled_from(["in_app", "email", "webhook"]),
)
def test_messages_segments_and_filters(
    steady, name: Any, subject: Any, body: Any, url: Any, audience: Any, channel: str
) -> None:
    _, api = steady
    message = {
        "name": name,
        "subject": subject,
        "body": body,
        "webhook_url": url,
        "audience": audience,
        "channel": channel,
        "state": "paused",
    }
    created = _send(api, "POST", "/api/messages", message)
    _no_5xx(created, message)
    if created.status_code == 201:
        patch = {"subject": subject, "webhook_url": url, "audience": audience}
        _no_5xx(
            _send(api, "PATCH", f"/api/messages/{created.json()['id']}", patch),
            patch,
        )
    for path, payload in (
        ("/api/segments", {"name": name, "filter": audience}),
        ("/api/audiences/count", {"filter": audience}),
    ):
        _no_5xx(
            _send(api, "POST", path, payload),
            payload,
        )


@FUZZ
@given(
    piece=st.one_of(text, numbers.map(str)),
    cursor=st.one_of(
        text, st.binary().map(lambda b: __import__("base64").urlsafe_b64encode(b).decode())
    ),
)
def test_cursors_query_values_and_path_ids(steady, piece: str, cursor: str) -> None:
    _, api = steady
    # What an HTTP client can send: UTF-8 (a lone surrogate as U+FFFD), a URL of sane length.
    safe = piece.encode("utf-8", "surrogatepass").decode("utf-8", "replace")[:2000]
    for path in ("/api/users", "/api/imports", "/api/messages", "/api/tags"):
        _no_5xx(api.request("GET", path, params={"cursor": cursor[:3000]}), (path, cursor))
    _no_5xx(api.request("GET", "/api/users", params={"q": safe, "email": safe, "tag": safe}), piece)
    from urllib.parse import quote

    quoted = quote(safe, safe="")
    for path in (
        f"/api/users/{quoted}",
        f"/api/imports/{quoted}",
        f"/api/messages/{quoted}",
        f"/api/users/{quoted}/events",
        f"/api/segments/{quoted}/users",
    ):
        _no_5xx(api.request("GET", path), path)
