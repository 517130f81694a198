"""The email and webhook channels (in-app needs none: the delivery row is the inbox entry).

Each send carries an idempotency key (``<message_id>:<contact_id>``): the SMTP ``Message-ID``,
the webhook ``Idempotency-Key`` header. A send that may be repeated after a crash is recognisable
as the same delivery by the receiver.

A send never raises for what the receiver, the address or the content does: every outcome is a
:class:`Result` (``delivered``, or ``failed`` with a sentence a user can act on).

Webhooks are signed with a timestamp, as Stripe and Slack sign theirs: ``X-Usher-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the workspace's webhook secret>``.
A receiver recomputes it and refuses a timestamp older than a few minutes (a replay).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from email.message import EmailMessage

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


AGAIN = "again"  # an attempt that may succeed when made again (shared.retry decides)


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


async def send_email(settings: Settings, out: Outgoing, *, sleep: Sleep = asyncio.sleep) -> Result:
    if not out.email:
        return Result("failed", "the person has no email address", 0)
    msg = EmailMessage()
    try:
        msg["From"] = settings.smtp_from
        msg["To"] = out.email
        msg["Subject"] = header_text(out.subject)
        msg["Message-ID"] = f"<{out.message_id}.{out.contact_id}@usher>"
        msg["X-Usher-Delivery"] = out.key
        msg.set_content(out.body)
    except (ValueError, TypeError) as exc:
        return Result("failed", f"the email could not be written: {exc}", 0)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
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
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                return Result(
                    "failed", f"the mail server refused it: {exc.code} {exc.message}", attempts
                )
            return Result(AGAIN, f"the mail server answered {exc.code} {exc.message}", attempts)
        except (TimeoutError, aiosmtplib.SMTPTimeoutError):
            return Result(AGAIN, f"the mail server at {where} did not answer in time", attempts)
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = f"the mail server at {where} could not be reached ({type(exc).__name__})"
            return Result(AGAIN, reason, attempts)

    return _settled(await retry.EMAIL.retrying(_again, sleep=sleep)(once))


async def send_webhook(
    client: httpx.AsyncClient,
    settings: Settings,
    out: Outgoing,
    contact: dict[str, object],
    *,
    sleep: Sleep = asyncio.sleep,
) -> Result:
    """POST the delivery; ``client`` is a guarded one (shared.outbound.client)."""
    if not out.webhook_url:
        return Result("failed", "the message has no webhook_url", 0)
    body = orjson.dumps(
        {
            "delivery_id": out.key,
            "message_id": out.message_id,
            "workspace_id": out.workspace_id,
            "contact": contact,
            "subject": out.subject,
            "body": out.body,
        }
    )
    attempts = 0

    async def once() -> Result:
        nonlocal attempts
        attempts += 1
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
            return Result("failed", f"webhook_url: {exc}", attempts)
        except httpx.TimeoutException:
            reason = f"the receiver did not answer within {settings.webhook_timeout_s:g} s"
            return Result(AGAIN, reason, attempts)
        except httpx.HTTPError:
            return Result(AGAIN, "the receiver could not be reached", attempts)
        if response.status_code < 300:
            return Result("delivered", None, attempts)
        reason = f"the receiver answered HTTP {response.status_code}"
        if response.status_code < 500 and response.status_code not in (408, 429):
            return Result("failed", reason, attempts)
        return Result(AGAIN, reason, attempts)

    policy = retry.WEBHOOK.times(settings.webhook_attempts)
    return _settled(await policy.retrying(_again, sleep=sleep)(once))


def _settled(result: Result) -> Result:
    """A result still to be retried when the attempts ran out becomes a failure."""
    if result.status != AGAIN:
        return result
    return Result(
        "failed", f"gave up after {result.attempts} attempts: {result.reason}", result.attempts
    )
