"""What the remote sources (MailChimp, Mixpanel) share: the credentials, HTTP with back-off, the
local snapshot of what was pulled, and the page → chunk loop.

* Credentials are decrypted here, from ``imports.secret``, and live only in this process's
  memory while the pull runs; they are dropped from the database once every page is sent (or the
  import failed). Messages built from vendor answers are scrubbed of them.
* Requests go through the outbound guard (shared.outbound, SPEC §8): a ``base_url`` that is or
  resolves to a non-public address fails the import with "not allowed", and nothing about what
  answers there.
* 429 and 5xx answers (and network errors) are retried after the vendor's ``Retry-After`` or a
  jittered exponential back-off, then the same request is sent again: the pull resumes where it
  stopped — but a pull waits at most ``USHER_PULL_MAX_WAIT_S`` in all, so a vendor (or a hostile
  URL) that keeps asking to wait cannot hold a pull slot for hours. 4xx answers fail the import
  with the vendor's own message (one line, at most 300 characters). Anything else a request
  raises (a body that does not decode, a broken answer) fails the import with a message too.
* One page is one chunk (a fixed page size), so after a restart the pull starts again at the page
  after the last applied chunk. Each page is appended to a snapshot (NDJSON, one vendor record a
  line, under ``USHER_STORAGE_DIR``) before its chunk is sent; the error report reads the
  original records of rows the merger rejected back from it.
"""

from __future__ import annotations

import email.utils
import logging
import os
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from tenacity import RetryCallState, retry_if_exception

from services.parser import repository as repo
from services.parser.contacts import JsonValidator
from services.parser.sources import ImportContext, SourceFailed
from services.parser.sources.jsonfile import Convert, json_chunk
from shared import jsonfile, outbound, retry
from shared.crypto import decrypt_json
from shared.errors import Refused, SecretUnavailable
from shared.jsonfile import JsonRecord
from shared.logs import get_logger

log = get_logger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
logging.getLogger("httpcore").setLevel(logging.WARNING)

MAX_RATE_LIMITED = 30  # 429 answers in a row for one request before the import fails
MAX_FAILURES = 8  # 5xx answers or network errors in a row for one request
MAX_UNREACHABLE = 3  # refused connections in a row (about 7 s) before the import fails
MAX_RETRY_AFTER_S = 3600.0
MAX_VENDOR_TEXT = 300
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def vendor_client(
    ctx: ImportContext,
    base_url: str,
    auth: httpx.Auth,
    max_connections: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A guarded HTTP client for one vendor API: its origin, credentials and connection limit.
    ``transport`` replaces the guarded one (tests: ``httpx.MockTransport``)."""
    options: dict[str, Any] = {
        "base_url": base_url,
        "auth": auth,
        "timeout": TIMEOUT,
        "headers": {"Accept": "application/json"},
    }
    if transport is not None:
        return httpx.AsyncClient(transport=transport, **options)
    policy = outbound.Policy.from_settings(ctx.settings)
    return outbound.client(policy, limits=httpx.Limits(max_connections=max_connections), **options)


def one_line(text: str) -> str:
    """A vendor's text made fit for an import's error: printable, one line, cut short."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= MAX_VENDOR_TEXT else flat[: MAX_VENDOR_TEXT - 1] + "…"


@dataclass(frozen=True)
class Page:
    """One page of vendor records; ``total`` is the vendor's count of all records, if known."""

    items: list[Any]
    total: int | None
    last: bool


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the ``Retry-After`` header asks for (delta-seconds or an HTTP date), if any."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return min(float(raw), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), MAX_RETRY_AFTER_S))


class Snapshot:
    """The pulled vendor records, one JSON line each, in pull order (line n = row n)."""

    def __init__(self, path: Path, keep_rows: int) -> None:
        self.path = path
        mode = "r+b" if path.exists() else "w+b"
        self.file: IO[bytes] = open(path, mode)
        kept = 0
        while kept < keep_rows and self.file.readline():
            kept += 1
        self.file.truncate(self.file.tell())  # lines pulled but never applied go

    def append(self, lines: Sequence[bytes]) -> None:
        """Write a page durably (before its chunk is sent)."""
        self.file.write(b"".join(line + b"\n" for line in lines))
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


class HourlyLimit:
    """At most ``per_hour`` calls in any hour, per key (a vendor's documented query limit).

    Callers key it by workspace and credentials as well as the vendor's project, so one
    workspace cannot spend another's budget; a call the vendor refused as unauthenticated is
    given back (:meth:`refund`)."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self.calls: dict[str, deque[float]] = {}

    async def acquire(self, key: str, ctx: ImportContext) -> None:
        calls = self.calls.setdefault(key, deque())
        while True:
            now = time.monotonic()
            while calls and calls[0] <= now - 3600:
                calls.popleft()
            if len(calls) < self.per_hour:
                calls.append(now)
                return
            wait = calls[0] + 3600 - now
            log.info("vendor query limit reached, waiting", extra={"wait_s": round(wait)})
            await ctx.wait(wait)

    def refund(self, key: str) -> None:
        """Give back the last call taken under ``key``."""
        calls = self.calls.get(key)
        if calls:
            calls.pop()


class RemoteSource:
    """Pulls pages from a vendor and sends them as chunks. Subclasses say how to page."""

    vendor = "the vendor"
    convert: Convert
    transport: httpx.AsyncBaseTransport | None = None  # tests: httpx.MockTransport

    async def run(self, ctx: ImportContext) -> None:
        secret = self.credentials(ctx)
        self.secrets = [v for v in secret.values() if isinstance(v, str) and len(v) >= 4]
        self.waited = 0.0
        options = ctx.options
        validator = JsonValidator(
            await ctx.attribute_types(),
            date_order=options.get("date_order") or "DMY",
            default_country=options.get("default_country"),
            invalid_values=options.get("invalid_values") or "fail_record",
        )
        kind = str(ctx.row["kind"])
        convert = self.converter(kind)
        snapshot = Snapshot(ctx.path(), ctx.resume_rows)
        seq = ctx.resume_at
        total = ctx.resume_rows
        try:
            async with (
                self.client(ctx, secret) as client,
                aclosing(self.pages(ctx, client, ctx.resume_at)) as pages,
            ):
                async for page in pages:
                    if page.items:
                        lines = [jsonfile.dumps(item) for item in page.items]
                        snapshot.append(lines)
                        records = [
                            JsonRecord(total + i, item, line.decode())
                            for i, (item, line) in enumerate(zip(page.items, lines, strict=True), 1)
                        ]
                        chunk = await json_chunk(ctx, seq, kind, records, convert, validator)
                        await ctx.sender.send(chunk)
                        total += len(records)
                        seq += 1
                        await ctx.sender.progress(total, page.total)
                    if page.last or not page.items:
                        break
        finally:
            snapshot.close()
        await ctx.sender.finish(ctx.workspace_id, seq, total, ctx.resume_at)
        async with ctx.pool.acquire() as conn:
            await repo.finish_pull(conn, ctx.import_id)

    # -- for subclasses ---------------------------------------------------------------------

    def converter(self, kind: str) -> Convert:
        raise NotImplementedError

    def client(self, ctx: ImportContext, secret: dict[str, Any]) -> httpx.AsyncClient:
        raise NotImplementedError

    def pages(
        self, ctx: ImportContext, client: httpx.AsyncClient, first: int
    ) -> AsyncGenerator[Page, None]:
        raise NotImplementedError

    def vendor_message(self, response: httpx.Response) -> str | None:
        """The vendor's own explanation in an error answer, if it gave one."""
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------

    def credentials(self, ctx: ImportContext) -> dict[str, Any]:
        token = ctx.row["secret"]
        if token is None:
            raise SourceFailed(
                f"the {self.vendor} credentials of this import are gone (the pull was stopped):"
                " start a new import"
            )
        try:
            return decrypt_json(ctx.settings, token)
        except SecretUnavailable as exc:
            raise SourceFailed(str(exc)) from None

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def explanation(self, response: httpx.Response) -> str | None:
        """The vendor's own explanation of an error answer, made fit to show (one line)."""
        try:
            message = self.vendor_message(response)
        except Exception:  # a body the vendor_message parser trips on says nothing useful
            return None
        return one_line(message) if message else None

    def refusal(self, response: httpx.Response) -> SourceFailed:
        """The import fails with the vendor's own words."""
        message = self.explanation(response) or one_line(response.reason_phrase or "")
        return SourceFailed(
            self.scrub(
                f"{self.vendor} refused the import ({response.status_code}):"
                f" {message or 'no explanation given'}"
            )
        )

    def body(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise SourceFailed(
                f"{self.vendor} answered {response.status_code} with a body that is not JSON"
            ) from None

    async def wait(self, ctx: ImportContext, seconds: float, problem: str) -> None:
        """Back off as asked, unless the pull has waited ``pull_max_wait_s`` in all."""
        limit = ctx.settings.pull_max_wait_s
        if self.waited + seconds > limit:
            raise SourceFailed(
                self.scrub(
                    f"{problem}; gave up after waiting {self.waited / 60:.0f} minutes in all"
                    f" (at most {limit / 60:.0f}): try again later"
                )
            )
        self.waited += seconds
        await ctx.wait(seconds)

    async def request(
        self,
        ctx: ImportContext,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        refuse: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request until it gets a final answer (see the module docstring), with the
        vendor back-off of shared.retry: the waits go through :meth:`wait` (the import's
        heartbeat, and the cap on all waiting of a pull).

        Returns a 2xx answer (or any 4xx answer when ``refuse`` is False); raises SourceFailed
        for a 4xx answer, or when the vendor keeps failing.
        """
        host = client.base_url.host or httpx.URL(url).host
        counts: Counter[str] = Counter()

        def again(exc: BaseException) -> bool:
            if isinstance(exc, _Again):
                counts[exc.kind] += 1
                return True
            return False

        def stop(state: RetryCallState) -> bool:
            return any(counts[kind] > limit for kind, limit in _LIMITS.items())

        def wait(state: RetryCallState) -> float:
            exc = _outcome(state)
            if exc.wait is not None:
                return exc.wait
            if exc.kind == "unreachable":
                return retry.VENDOR_UNREACHABLE.wait_s(counts["unreachable"])
            return retry.VENDOR.wait_s(counts["limited"] + counts["failing"])

        async def sleep(seconds: float) -> None:
            problem = self.scrub(last[0].problem) if last else self.vendor
            log.warning(
                "vendor asked to wait, retrying the same request",
                extra={"vendor": self.vendor, "problem": problem, "wait_s": seconds},
            )
            await self.wait(ctx, seconds, problem)

        last: list[_Again] = []

        async def once() -> httpx.Response:
            try:
                return await self._once(client, method, url, host, refuse, kwargs)
            except _Again as exc:
                last[:] = [exc]
                raise

        retrying = retry.VENDOR.retrying(
            retry_if_exception(again), stop=stop, wait=wait, sleep=sleep
        )
        try:
            response: httpx.Response = await retrying(once)
            return response
        except _Again as exc:
            if exc.kind == "unreachable":
                raise SourceFailed(
                    self.scrub(
                        f"{self.vendor} could not be reached at {host};"
                        " check base_url and the network"
                    )
                ) from None
            tries = counts["limited"] + counts["failing"]
            raise SourceFailed(self.scrub(f"{exc.problem}; gave up after {tries} tries")) from None

    async def _once(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        host: str,
        refuse: bool,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        """One request: its answer, or _Again (worth asking again), or SourceFailed."""
        try:
            response = await client.request(method, url, **kwargs)
        except Refused as exc:
            raise SourceFailed(f"base_url: {exc}") from None
        except httpx.ConnectError:
            # Nothing answers at that address (a wrong base_url, no route): a few quick
            # tries, then fail the import instead of holding the queue for minutes.
            raise _Again("unreachable", f"{self.vendor} could not be reached") from None
        except httpx.TimeoutException:
            raise _Again("failing", f"{self.vendor} did not answer in time") from None
        except httpx.DecodingError:
            raise SourceFailed(
                f"{self.vendor} answered with a body that could not be decoded"
                " (it is not what its Content-Encoding header says)"
            ) from None
        except httpx.TransportError:
            raise _Again("failing", f"{self.vendor} could not be reached") from None
        except Exception as exc:  # a broken answer, an invalid URL: never a stuck parser
            log.warning("a vendor request failed", extra={"error": repr(exc)})
            raise SourceFailed(
                f"{self.vendor} could not be asked at {host}: the request failed"
                f" ({type(exc).__name__}); check base_url"
            ) from None
        status = response.status_code
        if status < 400:
            return response
        if status == 429:
            problem = f"{self.vendor} kept answering 429 (too many requests)"
            raise _Again("limited", problem, retry_after(response))
        if status >= 500:
            problem = f"{self.vendor} kept failing ({status})"
            message = self.explanation(response)
            if message:
                problem += f": {message}"
            raise _Again("failing", problem, retry_after(response))
        if refuse:
            raise self.refusal(response)
        return response


class _Again(Exception):
    """A vendor answer worth asking again: of ``kind`` limited (429), failing (5xx, network)
    or unreachable (nothing listens), with the wait the vendor asked for, if any."""

    def __init__(self, kind: str, problem: str, wait: float | None = None) -> None:
        super().__init__(problem)
        self.kind, self.problem, self.wait = kind, problem, wait


# How many answers of each kind in a row one request takes before its import fails.
_LIMITS = {"limited": MAX_RATE_LIMITED, "failing": MAX_FAILURES, "unreachable": MAX_UNREACHABLE}


def _outcome(state: RetryCallState) -> _Again:
    assert state.outcome is not None
    exc = state.outcome.exception()
    assert isinstance(exc, _Again)
    return exc
