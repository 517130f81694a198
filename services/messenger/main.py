"""Messenger service: wiring only. ``python -m services.messenger.main``."""

from __future__ import annotations

from services.messenger.handler import MessengerHandler
from shared.topics import CONTACT_CHANGES, MESSAGE_ACTIVATIONS
from shared.worker import serve

if __name__ == "__main__":
    serve(
        "messenger",
        [CONTACT_CHANGES, MESSAGE_ACTIVATIONS],
        MessengerHandler,
        default_web_port=6103,
        timers={"sweep": 5.0},
        pool_size=8,  # sends beside the consumers take connections of their own
        # Changes are small (a chunk's ids and matched states: a few hundred KB at most, most a
        # few hundred bytes) and come one a committed batch: 4 capped the messenger at ~8 a
        # second behind a busy API (the outbox grew, the sweeper delivered 15 s late). Its peak
        # RSS in make bench stayed 88 MB.
        buffer=256,
    )
