"""The email and webhook channels (in-app needs none: the delivery row is the inbox entry).

Each send carries an idempotency key (``<message_id>:<contact_id>``): the SMTP ``Message-ID``,
the webhook ``Idempotency-Key`` header. A send that may be repeated after a crash is recognisable
as the same delivery by the receiver.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx
import orjson

from shared.settings import Settings

SIGNATURE_HEADER = "X-Usher-Signature"


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


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_email(settings: Settings, out: Outgoing) -> Result:
    if not out.email:
        return Result("failed", "the person has no email address", 0)
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = out.email
    msg["Subject"] = out.subject
    msg["Message-ID"] = f"<{out.message_id}.{out.contact_id}@usher>"
    msg["X-Usher-Delivery"] = out.key
    msg.set_content(out.body)
    last = ""
    for attempt in range(1, 4):
        try:
            await aiosmtplib.send(
                msg,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user,
                password=settings.smtp_password,
                start_tls=settings.smtp_tls,
                timeout=10,
            )
            return Result("delivered", None, attempt)
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                return Result(
                    "failed", f"SMTP server refused it: {exc.code} {exc.message}", attempt
                )
            last = f"{exc.code} {exc.message}"
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            last = repr(exc)
        await asyncio.sleep(min(10.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
    return Result("failed", f"SMTP server unreachable: {last}", 3)


async def send_webhook(
    client: httpx.AsyncClient, settings: Settings, out: Outgoing, contact: dict[str, object]
) -> Result:
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
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(out.webhook_secret, body),
        "Idempotency-Key": out.key,
    }
    reason = ""
    for attempt in range(1, settings.webhook_attempts + 1):
        try:
            response = await client.post(
                out.webhook_url, content=body, headers=headers, timeout=settings.webhook_timeout_s
            )
            if response.status_code < 300:
                return Result("delivered", None, attempt)
            reason = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in (408, 429):
                return Result("failed", f"the receiver answered {reason}", attempt)
        except httpx.TimeoutException:
            reason = "timed out"
        except httpx.HTTPError as exc:
            reason = f"could not connect: {exc.__class__.__name__}"
        if attempt < settings.webhook_attempts:
            await asyncio.sleep(min(30.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0))
    return Result(
        "failed",
        f"gave up after {settings.webhook_attempts} attempts: {reason}",
        settings.webhook_attempts,
    )
