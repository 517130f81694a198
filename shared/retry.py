"""One retry policy for every retry loop in Usher: bounded attempts, exponential back-off with
jitter, and an injectable sleep (tenacity underneath).

A :class:`Backoff` says how long to wait before attempt *n + 1*: ``first · 2^(n-1)``, at most
``cap``, each wait drawn uniformly from its upper half (jitter, so retries of many callers do not
line up). The waits are where a caller's clock is injected: ``sleep`` defaults to
``asyncio.sleep``, the vendor pulls pass the import's heartbeat-keeping wait, and tests pass a
recorder, so back-off paths run in milliseconds. The named policies are the whole list:

=============  ========  ========  =====  ==================================================
policy         attempts  first     cap    for
=============  ========  ========  =====  ==================================================
``WORKER``     30        0.4 s     30 s   a message's transient faults (shared.worker), and
                                          parking it on the dead-letter topic
``VENDOR``     9         1 s       60 s   a vendor's 5xx and network errors (30 answers of 429
                                          wait as the vendor asks); unreachable: 4, from 1 s
``EMAIL``      3         1 s       10 s   one email (SMTP 4xx, timeouts)
``WEBHOOK``    settings  0.5 s     30 s   one webhook POST (5xx, 408, 429, timeouts)
``RECORD``     for ever  0.5 s     5 s    writing a send's outcome while the database is away
=============  ========  ========  =====  ==================================================
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_base,
    stop_after_attempt,
    stop_never,
)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    attempts: int | None  # None: until it succeeds
    first: float  # seconds before the second attempt, before jitter
    cap: float  # the longest wait

    def wait_s(self, attempts_made: int) -> float:
        """The wait after ``attempts_made`` failed attempts (1 for the first)."""
        base = min(self.cap, self.first * 2.0 ** max(attempts_made - 1, 0))
        return float(base * random.uniform(0.5, 1.0))

    def times(self, attempts: int) -> Backoff:
        return replace(self, attempts=attempts)

    def retrying(
        self,
        retry: retry_base,
        *,
        sleep: Sleep = asyncio.sleep,
        wait: Callable[[RetryCallState], float] | None = None,
        stop: Callable[[RetryCallState], bool] | None = None,
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> AsyncRetrying:
        """A tenacity ``AsyncRetrying`` of this policy: retry when ``retry`` says so, then
        re-raise the last exception (or return the last result) once attempts run out."""
        limit = stop_after_attempt(self.attempts) if self.attempts is not None else stop_never
        return AsyncRetrying(
            retry=retry,
            stop=stop or limit,
            wait=wait or (lambda state: self.wait_s(state.attempt_number)),
            sleep=sleep,
            reraise=True,
            retry_error_callback=_last_result,
            before_sleep=before_sleep,
        )


def _last_result(state: RetryCallState) -> Any:
    """When attempts run out on a result (not an exception), return that result."""
    assert state.outcome is not None
    return state.outcome.result()


WORKER = Backoff(attempts=30, first=0.4, cap=30.0)
VENDOR = Backoff(attempts=9, first=1.0, cap=60.0)
VENDOR_UNREACHABLE = Backoff(attempts=4, first=1.0, cap=4.0)
EMAIL = Backoff(attempts=3, first=1.0, cap=10.0)
WEBHOOK = Backoff(attempts=5, first=0.5, cap=30.0)  # attempts: USHER_WEBHOOK_ATTEMPTS
RECORD = Backoff(attempts=None, first=0.5, cap=5.0)
