"""The email and webhook channels (in-app needs none: the delivery row is the inbox entry), for
the messenger's deliveries and the upload service's test sends and mail-server check.

Each send carries an idempotency key (``<message_id>:<contact_id>``): the SMTP ``Message-ID``,
the webhook ``Idempotency-Key`` header. A send that may be repeated after a crash (or retried
by a user) is recognisable as the same delivery by the receiver.

A send never raises for what the receiver, the address or the content does: every outcome is a
:class:`Result` (``delivered``, or ``failed`` with a sentence a user can act on: "the mail server
at 127.0.0.1:25 refused the connection", "the webhook at https://hooks.example.com answered 500
(Internal Server Error)" — never an exception's repr). :func:`readable` turns the raw reasons
stored before these sentences into them.

Webhooks are signed with a timestamp, as Stripe and Slack sign theirs: ``X-Usher-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the workspace's webhook secret>``.
A receiver recomputes it and refuses a timestamp older than a few minutes (a replay).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import re
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from http import HTTPStatus

import aiosmtplib
import httpx
import orjson
from tenacity import retry_if_result

from shared import retry
from shared.errors import Refused
from shared.retry import Sleep
from shared.settings import Settings

SIGNATURE_HEADER = "X-Usher-Signature"
TIMESTAMP_HEADER = "X-Usher-Timestamp"
SMTP_TIMEOUT_S = 10.0
CHECK_TIMEOUT_S = 3.0  # the mail-server check before the email channel is offered
NOT_SET_UP = "no mail server is set up: set USHER_SMTP_HOST (and USHER_SMTP_PORT)"

AGAIN = "again"  # an attempt that may succeed when made again (shared.retry decides)
ONCE = retry.Backoff(attempts=1, first=0.0, cap=0.0)  # a test send: one attempt, no back-off


@dataclass(frozen=True)
class Result:
    status: str  # 'delivered' | 'failed' (| AGAIN between attempts)
    reason: str | None
    attempts: int


_again = retry_if_result(lambda result: result.status == AGAIN)


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    contact_id: str
    workspace_id: str
    email: str | None
    subject: str
    body: str
    webhook_url: str | None
    webhook_secret: str

    @property
    def key(self) -> str:
        return f"{self.message_id}:{self.contact_id}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def header_text(text: str) -> str:
    """``text`` fit for a mail header: line breaks (from a name in ``{{name}}``, say) folded
    into spaces, since a header value cannot hold them."""
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def mail_server(settings: Settings) -> str:
    """Where emails go, as the sentences name it: ``127.0.0.1:25``."""
    return f"{settings.smtp_host}:{settings.smtp_port}"


# -- what a failure says --------------------------------------------------------------------


def _os_error(exc: BaseException) -> OSError | None:
    """The operating system's error under ``exc`` (aiosmtplib and httpx wrap it), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        current = current.__cause__ or current.__context__
    return None


def _connection(exc: BaseException, what: str) -> str:
    """Why a connection to ``what`` ("the mail server at …") failed, in words."""
    found = _os_error(exc)
    if isinstance(found, socket.gaierror):
        return f"{what} could not be found: its name does not resolve"
    code = found.errno if found is not None else None
    if code == errno.ECONNREFUSED:
        return f"{what} refused the connection"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"{what} could not be reached: no route to it"
    if code == errno.ECONNRESET:
        return f"{what} closed the connection"
    if isinstance(found, ssl.SSLError) or isinstance(exc, ssl.SSLError):
        return f"{what} failed the TLS handshake"
    return f"{what} could not be reached"


def smtp_failure(exc: BaseException, where: str, timeout_s: float) -> tuple[str, bool]:
    """What an SMTP exception means, as a sentence, and whether another attempt may succeed."""
    server = f"the mail server at {where}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients[0] if exc.recipients else None
        if refused is None:
            return f"{server} refused the address", False
        return (
            f"{server} refused the address {refused.recipient}: {refused.code} {refused.message}",
            False,
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return (
            f"{server} did not accept the user name and password (USHER_SMTP_USER,"
            f" USHER_SMTP_PASSWORD): {exc.code} {exc.message}",
            False,
        )
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f"{server} refused the sender {exc.sender}: {exc.code} {exc.message}", False
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return f"{server} refused the message: {exc.code} {exc.message}", False
        return f"{server} answered {exc.code} {exc.message} (a temporary refusal)", True
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return f"{server} did not answer within {timeout_s:g} s", True
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return f"{server} does not support what Usher asked of it: {exc.message}", False
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return f"{server} closed the connection", True
    if isinstance(exc, (aiosmtplib.SMTPException, OSError)):
        return _connection(exc, server), True
    return f"{server} could not be used", True


def origin(url: str | None) -> str:
    """A webhook URL as a failure names it: scheme, host and port, never the path or query
    (they may hold the receiver's secret, as a Slack hook's path does)."""
    try:
        parsed = httpx.URL(url or "")
    except (httpx.InvalidURL, ValueError, TypeError):
        return "the webhook URL"
    if not parsed.host:
        return "the webhook URL"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def answered(where: str, status: int) -> str:
    """``the webhook at https://h.example answered 503 (Service Unavailable)``."""
    try:
        phrase = f" ({HTTPStatus(status).phrase})"
    except ValueError:
        phrase = ""
    sentence = f"the webhook at {where} answered {status}{phrase}"
    if 300 <= status < 400:
        sentence += ": Usher does not follow redirects; give the final URL"
    return sentence


_OLD_CONNECT = re.compile(
    r"Error connecting to (?P<host>\S+) on port (?P<port>\d+): \[Errno (?P<errno>-?\d+)\]"
)
_REPR = re.compile(r"\b[A-Z]\w+\((?P<quote>[\"'])(?P<text>.*?)(?P=quote)\)")
_GAVE_UP = re.compile(r"^gave up after (?P<n>\d+) attempts: (?P<rest>.*)$", re.S)


def readable(reason: str | None) -> str | None:
    """A stored failure reason as a sentence: those written before the sentences below held
    exception reprs (``SMTP server unreachable: SMTPConnectError("Error connecting to
    127.0.0.1 on port 25: [Errno 111] …")``); newer ones pass through unchanged."""
    if not reason:
        return reason
    gave_up = _GAVE_UP.match(reason)
    rest = gave_up["rest"] if gave_up else reason
    tail = f"; gave up after {gave_up['n']} attempts" if gave_up else ""
    old = _OLD_CONNECT.search(rest)
    if old is not None:
        server = f"the mail server at {old['host']}:{old['port']}"
        code = int(old["errno"])
        if code == errno.ECONNREFUSED:
            return f"{server} refused the connection{tail}"
        if code < 0:  # getaddrinfo's codes
            return f"{server} could not be found: its name does not resolve{tail}"
        return f"{server} could not be reached{tail}"
    if _REPR.search(rest):
        rest = _REPR.sub(lambda m: m["text"], rest)
        rest = rest.replace("SMTP server unreachable:", "the mail server could not be reached:")
        return f"{rest}{tail}"
    return reason


def _settled(result: Result) -> Result:
    """A result still to be retried when the attempts ran out becomes a failure."""
    if result.status != AGAIN:
        return result
    if result.attempts <= 1:
        return Result("failed", result.reason, result.attempts)
    reason = f"{result.reason}; gave up after {result.attempts} attempts"
    return Result("failed", reason, result.attempts)


# -- email ----------------------------------------------------------------------------------


def email_message(settings: Settings, out: Outgoing) -> EmailMessage:
    """The email of a send (ValueError or TypeError when its text cannot be written)."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = out.email
    msg["Subject"] = header_text(out.subject)
    msg["Message-ID"] = f"<{out.message_id}.{out.contact_id}@usher>"
    msg["X-Usher-Delivery"] = out.key
    msg.set_content(out.body)
    return msg


async def send_email(
    settings: Settings,
    out: Outgoing,
    *,
    sleep: Sleep = asyncio.sleep,
    policy: retry.Backoff = retry.EMAIL,
) -> Result:
    """Send one email through the configured SMTP server, retried by ``policy`` (a test send
    passes :data:`ONCE`)."""
    if not out.email:
        return Result("failed", "the person has no email address", 0)
    if not settings.smtp_host:
        return Result("failed", NOT_SET_UP, 0)
    try:
        msg = email_message(settings, out)
    except (ValueError, TypeError) as exc:
        return Result("failed", f"the email could not be written: {exc}", 0)
    where = mail_server(settings)
    attempts = 0

    async def once() -> Result:
        nonlocal attempts
        attempts += 1
        try:
            await aiosmtplib.send(
                msg,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user,
                password=settings.smtp_password,
                start_tls=settings.smtp_tls,
                timeout=SMTP_TIMEOUT_S,
            )
            return Result("delivered", None, attempts)
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason, again = smtp_failure(exc, where, SMTP_TIMEOUT_S)
            return Result(AGAIN if again else "failed", reason, attempts)

    return _settled(await policy.retrying(_again, sleep=sleep)(once))


async def check_smtp(settings: Settings, timeout_s: float = CHECK_TIMEOUT_S) -> str | None:
    """Whether the mail server answers: None when it greets Usher (and accepts STARTTLS and
    the login, when those are configured) within ``timeout_s``, else why not, as a sentence.
    Nothing is sent."""
    if not settings.smtp_host:
        return NOT_SET_UP
    where = mail_server(settings)
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        start_tls=settings.smtp_tls,
        timeout=timeout_s,
    )
    try:
        async with asyncio.timeout(timeout_s):
            await client.connect()
            if settings.smtp_user:
                await client.login(settings.smtp_user, settings.smtp_password or "")
        return None
    except (aiosmtplib.SMTPException, OSError) as exc:
        return smtp_failure(exc, where, timeout_s)[0]
    finally:
        if client.is_connected:
            try:
                await asyncio.wait_for(client.quit(), timeout=1.0)
            except (aiosmtplib.SMTPException, OSError):
                client.close()


# -- webhook --------------------------------------------------------------------------------


def webhook_body(out: Outgoing, contact: dict[str, object], *, test: bool = False) -> bytes:
    """What a webhook receives (``"test": true`` marks a test send)."""
    payload: dict[str, object] = {
        "delivery_id": out.key,
        "message_id": out.message_id,
        "workspace_id": out.workspace_id,
        "contact": contact,
        "subject": out.subject,
        "body": out.body,
    }
    if test:
        payload["test"] = True
    return orjson.dumps(payload)


async def send_webhook(
    client: httpx.AsyncClient,
    settings: Settings,
    out: Outgoing,
    contact: dict[str, object],
    *,
    sleep: Sleep = asyncio.sleep,
    attempts: int | None = None,
    test: bool = False,
) -> Result:
    """POST the delivery; ``client`` is a guarded one (shared.outbound.client). ``attempts``
    defaults to USHER_WEBHOOK_ATTEMPTS (a test send makes one)."""
    if not out.webhook_url:
        return Result("failed", "the message has no webhook_url", 0)
    body = webhook_body(out, contact, test=test)
    where = origin(out.webhook_url)
    made = 0

    async def once() -> Result:
        nonlocal made
        made += 1
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(out.webhook_secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            "Idempotency-Key": out.key,
        }
        try:
            response = await client.post(
                out.webhook_url or "",
                content=body,
                headers=headers,
                timeout=settings.webhook_timeout_s,
            )
            await response.aclose()
        except Refused as exc:
            return Result("failed", f"webhook_url: {exc}", made)
        except httpx.TimeoutException:
            reason = (
                f"the webhook at {where} did not answer within {settings.webhook_timeout_s:g} s"
            )
            return Result(AGAIN, reason, made)
        except httpx.HTTPError as exc:
            return Result(AGAIN, _connection(exc, f"the webhook at {where}"), made)
        if response.status_code < 300:
            return Result("delivered", None, made)
        reason = answered(where, response.status_code)
        if response.status_code < 500 and response.status_code not in (408, 429):
            return Result("failed", reason, made)
        return Result(AGAIN, reason, made)

    policy = retry.WEBHOOK.times(attempts or settings.webhook_attempts)
    return _settled(await policy.retrying(_again, sleep=sleep)(once))
