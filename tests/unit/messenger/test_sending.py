"""The sender's choices that one person's data or one receiver cannot break (messenger)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.messenger import sending
from shared import channels
from shared.settings import Settings


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
        "message_subject": "Hi {{first_name}}",
        "message_body": 'Your plan: {{custom.plan}}, {{custom.seats | fallback: "some"}} seats',
        "message_version": 1,
        "message_version_now": 1,
        "webhook_secret": "s",
    }
    row.update(over)
    return row


def test_a_send_uses_the_text_rendered_when_the_person_matched() -> None:
    out = sending.Sender.outgoing(_row())
    assert (out.subject, out.body) == ("Hi Ann", "Dear Ann")


def test_a_message_edited_since_is_sent_with_its_new_version() -> None:
    """A newer version than the row's: rendered again, with the new grammar (fallbacks)."""
    out = sending.Sender.outgoing(_row(message_version_now=2))
    assert (out.subject, out.body) == ("Hi Ann", "Your plan: pro, some seats")


async def test_an_unexpected_failure_of_a_send_is_a_failed_delivery(monkeypatch) -> None:
    async def broken(*_: Any, **__: Any) -> channels.Result:
        raise RuntimeError("a bug")

    monkeypatch.setattr(channels, "send_email", broken)
    sender = sending.Sender(Settings(), None, None)  # type: ignore[arg-type]
    result = await sender._attempt(_row(), sender.outgoing(_row()))
    assert result.status == "failed" and "on our side" in (result.reason or "")
