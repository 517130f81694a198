"""The chaos run's webhook receiver and SMTP server: slow, the webhook one flaky, both recording.

Both listen on their own loopback address (``127.0.0.2`` in the chaos run: the services get
``USHER_ALLOWED_PRIVATE_HOSTS=127.0.0.2``, and refuse every other non-public address), in one
background thread with its own event loop, so they keep answering while the harness sleeps,
kills and restarts processes.

* Webhook (``POST /hook``): waits 0.5-3 s, then answers 503 to the first attempt of every third
  idempotency key it sees (in order of first arrival) and 200 to everything else; a POST without
  an ``Idempotency-Key`` header, or whose body's ``delivery_id`` is another one, gets 400.
* SMTP (aiosmtpd): waits 0.2-1.5 s after the message's data before accepting it (250).

Each attempt is recorded with its key (the ``Idempotency-Key`` header; the mail's
``X-Usher-Delivery`` header), when its request arrived, what was answered, and whether the
client was still there to hear the answer (a sender killed mid-request never learns it was
accepted, and rightly sends again).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

import orjson
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Attempt:
    key: str | None
    received_at: float  # time.monotonic() when the request (the mail's data) arrived
    answered_at: float
    status: int  # HTTP status, or SMTP reply code
    client_gone: bool  # the connection was closing when the answer was ready

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class Receivers:
    """Start with :meth:`start`, read :meth:`webhooks` and :meth:`mails`, end with :meth:`stop`."""

    def __init__(
        self,
        host: str,
        webhook_port: int,
        smtp_port: int,
        *,
        seed: int = 1,
        webhook_delay_s: tuple[float, float] = (0.5, 3.0),
        smtp_delay_s: tuple[float, float] = (0.2, 1.5),
        flaky_every: int = 3,
    ) -> None:
        self.host = host
        self.webhook_port = webhook_port
        self.smtp_port = smtp_port
        self.webhook_delay_s = webhook_delay_s
        self.smtp_delay_s = smtp_delay_s
        self.flaky_every = flaky_every
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self._webhooks: list[Attempt] = []
        self._mails: list[Attempt] = []
        self._order: dict[str, int] = {}  # webhook key -> its number in order of first arrival
        self.in_flight = 0
        self.problems: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def webhook_url(self) -> str:
        return f"http://{self.host}:{self.webhook_port}/hook"

    def webhooks(self) -> list[Attempt]:
        with self._lock:
            return list(self._webhooks)

    def mails(self) -> list[Attempt]:
        with self._lock:
            return list(self._mails)

    def activity(self) -> tuple[int, int, int]:
        """(webhook attempts, mails, requests being answered now): changes while sends go on."""
        with self._lock:
            return len(self._webhooks), len(self._mails), self.in_flight

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-receivers", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("the webhook and SMTP receivers did not start")
        if self._error is not None:
            raise RuntimeError(f"the receivers could not start: {self._error!r}")

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(15)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            runner, smtp = loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            smtp.close()
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _serve(self) -> tuple[web.AppRunner, asyncio.AbstractServer]:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.webhook_port).start()
        handler = _MailHandler(self)
        smtp = await asyncio.get_running_loop().create_server(
            lambda: SMTP(handler, hostname="chaos-smtp", ident="chaos smtp"),
            self.host,
            self.smtp_port,
        )
        return runner, smtp

    # -- webhook ------------------------------------------------------------------------------

    async def _hook(self, request: web.Request) -> web.Response:
        received = time.monotonic()
        key = request.headers.get("Idempotency-Key")
        body = await request.read()
        with self._lock:
            self.in_flight += 1
            first = key is not None and key not in self._order
            if first and key is not None:
                self._order[key] = len(self._order) + 1
            number = self._order.get(key or "", 0)
            delay = self.rng.uniform(*self.webhook_delay_s)
        try:
            await asyncio.sleep(delay)
            status = 503 if first and number % self.flaky_every == 0 else 200
            if key is None:
                status = 400
                self._problem("a webhook POST without an Idempotency-Key header")
            else:
                try:
                    sent = orjson.loads(body).get("delivery_id")
                except (orjson.JSONDecodeError, AttributeError):
                    sent = None
                if sent != key:
                    status = 400
                    self._problem(f"webhook {key}: the body's delivery_id is {sent!r}")
            transport = request.transport
            gone = transport is None or transport.is_closing()
            with self._lock:
                self._webhooks.append(Attempt(key, received, time.monotonic(), status, gone))
            return web.Response(status=status, text="ok" if status == 200 else "try again")
        finally:
            with self._lock:
                self.in_flight -= 1

    def _problem(self, text: str) -> None:
        with self._lock:
            if len(self.problems) < 20:
                self.problems.append(text)

    # -- SMTP ---------------------------------------------------------------------------------

    async def mail(self, server: SMTP, envelope: Envelope) -> str:
        received = time.monotonic()
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        header = BytesHeaderParser().parsebytes(data).get("X-Usher-Delivery")
        # A long header is folded over lines ("\r\n " inside it); a key has no white space.
        key = "".join(str(header).split()) if header is not None else None
        with self._lock:
            self.in_flight += 1
            delay = self.rng.uniform(*self.smtp_delay_s)
        try:
            await asyncio.sleep(delay)
            if key is None:
                self._problem("a mail without an X-Usher-Delivery header")
            transport: Any = getattr(server, "transport", None)
            gone = transport is None or transport.is_closing()
            with self._lock:
                self._mails.append(Attempt(key, received, time.monotonic(), 250, gone))
            return "250 Message accepted for delivery"
        finally:
            with self._lock:
                self.in_flight -= 1


class _MailHandler:
    def __init__(self, receivers: Receivers) -> None:
        self.receivers = receivers

    # aiosmtpd's hook: called once a message's data has arrived; the reply is the SMTP answer.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return await self.receivers.mail(server, envelope)
