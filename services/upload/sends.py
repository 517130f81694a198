"""Test sends: a message's subject and body sent once, now, in the request — an email to an
address through the configured mail server, or a signed webhook POST (marked ``"test": true``)
through the guarded client (SPEC §8). No delivery is recorded and nothing is retried: the
answer says it went, or why not, as the channel's own sentence (shared.channels)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from shared import channels, outbound
from shared.settings import Settings

SUBJECT_PREFIX = "[Test] "


@dataclass(frozen=True)
class Trial:
    """What to send: the texts already rendered (for a chosen person, or with fallbacks)."""

    channel: str
    subject: str
    body: str
    to: str | None
    webhook_url: str | None
    message_id: str | None
    contact: dict[str, object]


def _outgoing(workspace_id: str, secret: str, trial: Trial) -> channels.Outgoing:
    # A key of its own: a receiver that deduplicates on it never mistakes a test for a
    # delivery (or one test for another).
    return channels.Outgoing(
        message_id=trial.message_id or "test",
        contact_id=f"test-{secrets.token_hex(6)}",
        workspace_id=workspace_id,
        email=trial.to,
        subject=SUBJECT_PREFIX + trial.subject,
        body=trial.body,
        webhook_url=trial.webhook_url,
        webhook_secret=secret,
    )


async def send(
    settings: Settings, policy: outbound.Policy, workspace_id: str, secret: str, trial: Trial
) -> tuple[bool, str]:
    """``(sent, detail)``: one attempt on the trial's channel, bounded by the channel's own
    timeouts (SMTP 10 s, USHER_WEBHOOK_TIMEOUT_S)."""
    out = _outgoing(workspace_id, secret, trial)
    if trial.channel == "email":
        result = await channels.send_email(settings, out, policy=channels.ONCE)
        where = channels.mail_server(settings)
        done = f"sent to {trial.to} through the mail server at {where}"
    else:
        async with outbound.client(policy) as http:
            result = await channels.send_webhook(
                http, settings, out, trial.contact, attempts=1, test=True
            )
        done = f"the webhook at {channels.origin(trial.webhook_url)} accepted it"
    if result.status == "delivered":
        return True, done
    return False, result.reason or "it could not be sent"
