"""The email and webhook channels (shared/channels.py): what is sent, how it is retried, and
what a failure says — a sentence, never an exception's repr."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import socket
from email import message_from_bytes
from typing import Any

import aiosmtplib
import httpx
import pytest

from shared import channels
from shared.errors import Refused
from shared.outbound import NOT_ALLOWED
from shared.settings import Settings

WHERE = "127.0.0.1:25"


def _out(**over: Any) -> channels.Outgoing:
    base: dict[str, Any] = {
        "message_id": "msg_1",
        "contact_id": "c_1",
        "workspace_id": "ws_1",
        "email": "a@x.io",
        "subject": "s",
        "body": "b",
        "webhook_url": "https://h.example/x?token=secret",
        "webhook_secret": "k",
    }
    return channels.Outgoing(**{**base, **over})


def test_a_line_break_from_a_name_is_folded_out_of_the_subject() -> None:
    assert channels.header_text("Welcome Ann\nSmith") == "Welcome Ann Smith"
    assert channels.header_text("a\r\n b\rc") == "a b c"
    assert channels.header_text("plain") == "plain"


async def test_an_email_with_such_a_subject_is_written(monkeypatch) -> None:
    sent: list[bytes] = []

    async def fake_send(message: Any, **_: Any) -> None:
        sent.append(message.as_bytes())

    monkeypatch.setattr(channels.aiosmtplib, "send", fake_send)
    result = await channels.send_email(Settings(), _out(subject="Hi Ann\r\nBcc: x@y"))
    assert result.status == "delivered"
    parsed = message_from_bytes(sent[0])
    assert parsed["Subject"] == "Hi Ann Bcc: x@y" and parsed["Bcc"] is None


def _refused() -> aiosmtplib.SMTPConnectError:
    """What aiosmtplib raises for a closed port: the OS error is its cause."""
    try:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
        except ConnectionRefusedError as exc:
            raise aiosmtplib.SMTPConnectError("Error connecting to 127.0.0.1 on port 25") from exc
    except aiosmtplib.SMTPConnectError as outer:
        return outer


def _unresolved() -> aiosmtplib.SMTPConnectError:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise aiosmtplib.SMTPConnectError("Error connecting to mail.nowhere") from exc
    except aiosmtplib.SMTPConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "sentence", "again"),
    [
        (_refused(), f"the mail server at {WHERE} refused the connection", True),
        (
            _unresolved(),
            f"the mail server at {WHERE} could not be found: its name does not resolve",
            True,
        ),
        (
            aiosmtplib.SMTPConnectTimeoutError("Timed out"),
            f"the mail server at {WHERE} did not answer within 10 s",
            True,
        ),
        (
            aiosmtplib.SMTPServerDisconnected("lost"),
            f"the mail server at {WHERE} closed the connection",
            True,
        ),
        (
            aiosmtplib.SMTPResponseException(421, "busy"),
            f"the mail server at {WHERE} answered 421 busy (a temporary refusal)",
            True,
        ),
        (
            aiosmtplib.SMTPResponseException(554, "no"),
            f"the mail server at {WHERE} refused the message: 554 no",
            False,
        ),
        (
            aiosmtplib.SMTPAuthenticationError(535, "bad"),
            f"the mail server at {WHERE} did not accept the user name and password"
            " (USHER_SMTP_USER, USHER_SMTP_PASSWORD): 535 bad",
            False,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@x.io")]
            ),
            f"the mail server at {WHERE} refused the address a@x.io: 550 no such user",
            False,
        ),
        (
            OSError(errno.EHOSTUNREACH, "No route to host"),
            f"the mail server at {WHERE} could not be reached: no route to it",
            True,
        ),
    ],
)
def test_an_smtp_failure_is_a_sentence(exc: BaseException, sentence: str, again: bool) -> None:
    assert channels.smtp_failure(exc, WHERE, 10.0) == (sentence, again)


async def test_a_mail_server_that_refuses_fails_after_its_attempts(monkeypatch) -> None:
    async def refuse(*_: Any, **__: Any) -> None:
        raise _refused()

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(channels.aiosmtplib, "send", refuse)
    result = await channels.send_email(Settings(), _out(), sleep=no_wait)
    assert result == channels.Result(
        "failed",
        "the mail server at 127.0.0.1:25 refused the connection; gave up after 3 attempts",
        3,
    )
    once = await channels.send_email(Settings(), _out(), policy=channels.ONCE)
    assert once == channels.Result(
        "failed", "the mail server at 127.0.0.1:25 refused the connection", 1
    )


async def test_no_mail_server_set_up_is_said_before_any_attempt() -> None:
    result = await channels.send_email(Settings(smtp_host=""), _out())
    assert result == channels.Result("failed", channels.NOT_SET_UP, 0)
    assert await channels.check_smtp(Settings(smtp_host="")) == channels.NOT_SET_UP


async def test_the_mail_server_check_says_why_it_cannot_be_used() -> None:
    """A port nobody listens on: refused, within the check's time."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    problem = await channels.check_smtp(Settings(smtp_host="127.0.0.1", smtp_port=port), 1.0)
    assert problem == f"the mail server at 127.0.0.1:{port} refused the connection"


async def test_the_mail_server_check_passes_on_a_greeting() -> None:
    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 fake ESMTP\r\n")
        await writer.drain()
        while line := await reader.readline():
            writer.write(b"221 bye\r\n" if line.upper().startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await channels.check_smtp(Settings(smtp_host="127.0.0.1", smtp_port=port)) is None
    finally:
        server.close()
        await server.wait_closed()


async def test_a_refused_webhook_address_fails_the_delivery_at_once() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise Refused(NOT_ALLOWED)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(
            client, Settings(), _out(webhook_url="http://10.0.0.1/x"), {"id": "c_1"}
        )
    assert (result.status, calls) == ("failed", 1)
    assert result.reason == "webhook_url: the address is not allowed: Usher does not send" + (
        " requests to loopback, private, link-local or other non-public addresses"
    )


def test_webhook_signatures_carry_their_timestamp() -> None:
    """What the README tells a receiver to compute: HMAC-SHA256 of "<t>.<raw body>"."""
    mac = hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert channels.sign("secret", 1700000000, b"{}") == f"t=1700000000,v1={mac}"
    assert channels.sign("secret", 1, b"{}") != channels.sign("secret", 2, b"{}")


async def test_a_webhook_is_retried_with_the_webhook_backoff() -> None:
    answers = [503, 429, 200]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(client, Settings(), _out(), {"id": "c_1"}, sleep=sleep)
    assert (result.status, result.attempts) == ("delivered", 3)
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


async def test_a_webhook_that_keeps_failing_says_where_and_what_it_answered() -> None:
    """The origin only: a hook's path or query may be its secret."""

    async def sleep(seconds: float) -> None:
        return None

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(
            client, Settings(webhook_attempts=3), _out(), {}, sleep=sleep
        )
    assert result == channels.Result(
        "failed",
        "the webhook at https://h.example answered 502 (Bad Gateway); gave up after 3 attempts",
        3,
    )


@pytest.mark.parametrize(
    ("status", "sentence"),
    [
        (500, "the webhook at https://h.example answered 500 (Internal Server Error)"),
        (
            302,
            "the webhook at https://h.example answered 302 (Found): Usher does not follow"
            " redirects; give the final URL",
        ),
        (599, "the webhook at https://h.example answered 599"),
    ],
)
def test_a_webhook_answer_is_a_sentence(status: int, sentence: str) -> None:
    assert channels.answered("https://h.example", status) == sentence


async def test_a_webhook_that_refuses_the_connection_says_so() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        except ConnectionRefusedError as exc:
            raise httpx.ConnectError("[Errno 111] Connection refused") from exc

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await channels.send_webhook(client, Settings(), _out(), {}, attempts=1)
    assert result.reason == "the webhook at https://h.example refused the connection"


def test_a_test_send_is_marked() -> None:
    assert b'"test":true' in channels.webhook_body(_out(), {}, test=True)
    assert b'"test"' not in channels.webhook_body(_out(), {})


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (
            'SMTP server unreachable: SMTPConnectError("Error connecting to 127.0.0.1 on port 25:'
            " [Errno 111] Connect call failed ('127.0.0.1', 25)\")",
            "the mail server at 127.0.0.1:25 refused the connection",
        ),
        (
            'gave up after 3 attempts: SMTPConnectError("Error connecting to mail.x on port 587:'
            ' [Errno -2] Name or service not known")',
            "the mail server at mail.x:587 could not be found: its name does not resolve;"
            " gave up after 3 attempts",
        ),
        (
            "SMTP server unreachable: SMTPServerDisconnected('Connection lost')",
            "the mail server could not be reached: Connection lost",
        ),
        ("the person has no email address", "the person has no email address"),
        (None, None),
    ],
)
def test_a_reason_stored_before_the_sentences_reads_as_one(
    stored: str | None, shown: str | None
) -> None:
    assert channels.readable(stored) == shown
