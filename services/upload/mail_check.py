"""Whether the email channel can be chosen: the mail server checked (shared.channels.check_smtp,
at most 3 s) and the answer kept a few seconds, so a form that asks on every open does not make
a connection each time. One check runs at a time; callers meanwhile wait for its answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from shared import channels
from shared.settings import Settings

KEEP_S = 5.0

Check = Callable[[Settings], Awaitable[str | None]]
Clock = Callable[[], float]


class MailCheck:
    def __init__(
        self,
        settings: Settings,
        check: Check = channels.check_smtp,
        clock: Clock = time.monotonic,
        keep_s: float = KEEP_S,
    ) -> None:
        self.settings = settings
        self.check = check
        self.clock = clock
        self.keep_s = keep_s
        self.lock = asyncio.Lock()
        self.answer: str | None = None
        self.checked_at: float | None = None

    @property
    def server(self) -> str:
        return channels.mail_server(self.settings)

    async def problem(self) -> str | None:
        """None when the mail server answers, else why it cannot be used (a sentence)."""
        async with self.lock:
            now = self.clock()
            if self.checked_at is None or now - self.checked_at >= self.keep_s:
                self.answer = await self.check(self.settings)
                self.checked_at = self.clock()
            return self.answer
