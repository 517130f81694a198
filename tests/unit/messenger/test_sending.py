"""Sends that one person's data or one receiver cannot break (messenger channels, sender)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import httpx

from services.messenger import channels, sending
from shared.errors import Refused
from shared.outbound import NOT_ALLOWED
from shared.settings import Settings


def test_a_line_break_from_a_name_is_folded_out_of_the_subject() -> None:
    assert channels.header_text("Welcome Ann\nSmith") == "Welcome Ann Smith"
    assert channels.header_text("a\r\n b\rc") == "a b c"
    assert channels.header_text("plain") == "plain"


async def test_an_email_with_such_a_subject_is_written(monkeypatch) -> None:
    sent: list[bytes] = []

    async def fake_send(message: Any, **_: Any) -> None:
        sent.append(message.as_bytes())

    monkeypatch.setattr(channels.aiosmtplib, "send", fake_send)
    out = channels.Outgoing("msg_1", "c_1", "ws_1", "a@x.io", "Hi Ann\r\nBcc: x@y", "b", None, "s")
    result = await channels.send_email(Settings(), out)
    assert result.status == "delivered"
    parsed = message_from_bytes(sent[0])
    assert parsed["Subject"] == "Hi Ann Bcc: x@y" and parsed["Bcc"] is None


async def test_a_refused_webhook_address_fails_the_delivery_at_once() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise Refused(NOT_ALLOWED)

    out = channels.Outgoing("msg_1", "c_1", "ws_1", None, "s", "b", "http://10.0.0.1/x", "k")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(client, Settings(), out, {"id": "c_1"})
    assert (result.status, calls) == ("failed", 1)
    assert result.reason == "webhook_url: the address is not allowed: Usher does not send" + (
        " requests to loopback, private, link-local or other non-public addresses"
    )


def test_webhook_signatures_carry_their_timestamp() -> None:
    """What the README tells a receiver to compute: HMAC-SHA256 of "<t>.<raw body>"."""
    mac = hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert channels.sign("secret", 1700000000, b"{}") == f"t=1700000000,v1={mac}"
    assert channels.sign("secret", 1, b"{}") != channels.sign("secret", 2, b"{}")


def _row(**over: Any) -> dict[str, Any]:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    row = {
        "message_id": "msg_1",
        "contact_id": "c_1",
        "workspace_id": "ws_1",
        "subject": "Hi Ann",
        "body": "Dear Ann",
        "attempts": 0,
        "created_at": created,
        "email": "ann@x.io",
        "name": "Ann B",
        "custom": {"plan": "pro"},
        "channel": "email",
        "webhook_url": None,
        "message_subject": "Hi {{name}}",
        "message_body": "Your plan: {{custom.plan}}",
        "message_updated_at": created - timedelta(hours=1),
        "webhook_secret": "s",
    }
    row.update(over)
    return row


def test_a_send_uses_the_text_rendered_when_the_person_matched() -> None:
    out = sending.Sender.outgoing(_row())
    assert (out.subject, out.body) == ("Hi Ann", "Dear Ann")


def test_a_message_edited_since_is_sent_with_its_new_content() -> None:
    edited = _row(message_updated_at=datetime(2026, 1, 2, tzinfo=UTC))
    out = sending.Sender.outgoing(edited)
    assert (out.subject, out.body) == ("Hi Ann B", "Your plan: pro")


async def test_an_unexpected_failure_of_a_send_is_a_failed_delivery(monkeypatch) -> None:
    async def broken(*_: Any) -> channels.Result:
        raise RuntimeError("a bug")

    monkeypatch.setattr(channels, "send_email", broken)
    sender = sending.Sender(Settings(), None, None)  # type: ignore[arg-type]
    result = await sender._attempt(_row(), sender.outgoing(_row()))
    assert result.status == "failed" and "on our side" in (result.reason or "")


async def test_a_webhook_is_retried_with_the_webhook_backoff() -> None:
    answers = [503, 429, 200]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0))

    out = channels.Outgoing("msg_1", "c_1", "ws_1", None, "s", "b", "https://h.example/x", "k")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(client, Settings(), out, {"id": "c_1"}, sleep=sleep)
    assert (result.status, result.attempts) == ("delivered", 3)
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


async def test_a_webhook_that_keeps_failing_gives_up_after_its_attempts() -> None:
    async def sleep(seconds: float) -> None:
        return None

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    out = channels.Outgoing("msg_1", "c_1", "ws_1", None, "s", "b", "https://h.example/x", "k")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(
            client, Settings(webhook_attempts=3), out, {}, sleep=sleep
        )
    assert result == channels.Result(
        "failed", "gave up after 3 attempts: the receiver answered HTTP 502", 3
    )
