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
    )
