"""``GET /api/channels``: which channels a message can use now — email only when the mail
server answers (checked within 3 s, the answer kept 5 s: services.upload.mail_check)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.upload.deps import CurrentWorkspace, MailServer
from services.upload.schemas import ChannelPublic, Page

router = APIRouter(prefix="/api", tags=["messages"])


@router.get("/channels", response_model=Page[ChannelPublic])
async def channels(workspace: CurrentWorkspace, mail: MailServer) -> dict[str, Any]:
    """In-app and webhook are always available (a webhook URL is checked when saved); email
    says whether the mail server is set up and reachable, and if not, why, as a sentence."""
    problem = await mail.problem()
    data = [
        ChannelPublic(channel="in_app", available=True, problem=None),
        ChannelPublic(
            channel="email", available=problem is None, problem=problem, server=mail.server
        ),
        ChannelPublic(channel="webhook", available=True, problem=None),
    ]
    return {"data": data, "next_cursor": None}
