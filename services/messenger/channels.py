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
import random
import time
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx
import orjson

from shared.errors import Refused
from shared.settings import Settings

SIGNATURE_HEADER = "X-Usher-Signature"
TIMESTAMP_HEADER = "X-Usher-Timestamp"
EMAIL_ATTEMPTS = 3
SMTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Result:
    status: str  # 'delivered' | 'failed'
    reason: str | None
    attempts: int


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


async def send_email(settings: Settings, out: Outgoing) -> Result:
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
    last = ""
    for attempt in range(1, EMAIL_ATTEMPTS + 1):
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
            return Result("delivered", None, attempt)
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                return Result(
                    "failed", f"the mail server refused it: {exc.code} {exc.message}", attempt
                )
            last = f"the mail server answered {exc.code} {exc.message}"
        except (TimeoutError, aiosmtplib.SMTPTimeoutError):
            last = f"the mail server at {where} did not answer in time"
        except (aiosmtplib.SMTPException, OSError) as exc:
            last = f"the mail server at {where} could not be reached ({type(exc).__name__})"
        if attempt < EMAIL_ATTEMPTS:
            await asyncio.sleep(min(10.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
    return Result("failed", f"gave up after {EMAIL_ATTEMPTS} attempts: {last}", EMAIL_ATTEMPTS)


async def send_webhook(
    client: httpx.AsyncClient, settings: Settings, out: Outgoing, contact: dict[str, object]
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
    reason = ""
    for attempt in range(1, settings.webhook_attempts + 1):
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(out.webhook_secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            "Idempotency-Key": out.key,
        }
        try:
            response = await client.post(
                out.webhook_url, content=body, headers=headers, timeout=settings.webhook_timeout_s
            )
            await response.aclose()
            if response.status_code < 300:
                return Result("delivered", None, attempt)
            reason = f"the receiver answered HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in (408, 429):
                return Result("failed", reason, attempt)
        except Refused as exc:
            return Result("failed", f"webhook_url: {exc}", attempt)
        except httpx.TimeoutException:
            reason = f"the receiver did not answer within {settings.webhook_timeout_s:g} s"
        except httpx.HTTPError:
            reason = "the receiver could not be reached"
        if attempt < settings.webhook_attempts:
            await asyncio.sleep(min(30.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0))
    return Result(
        "failed",
        f"gave up after {settings.webhook_attempts} attempts: {reason}",
        settings.webhook_attempts,
    )
