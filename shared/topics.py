"""The registry of Usher's Kafka topics: name, key, payload, producer and consumers.

Names get the ``USHER_TOPIC_PREFIX`` (default ``usher.``) so tests can use their own topics.
All topics are created explicitly by ``shared.kafka.ensure_topics`` with one partition count.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import Settings, get_settings


@dataclass(frozen=True)
class Topic:
    suffix: str
    key: str
    payloads: tuple[str, ...]
    producer: str
    consumers: tuple[str, ...]

    def name(self, settings: Settings | None = None) -> str:
        return (settings or get_settings()).topic_prefix + self.suffix


IMPORT_REQUESTS = Topic(
    "import-requests", "import id", ("import.requested",), "upload", ("parser",)
)
ROW_CHUNKS = Topic(
    "row-chunks", "workspace id", ("import.rows", "import.parsed"), "parser", ("merger",)
)
CONTACT_CHANGES = Topic(
    "contact-changes", "workspace id", ("contacts.changed",), "merger, upload", ("messenger",)
)
MESSAGE_ACTIVATIONS = Topic(
    "message-activations", "workspace id", ("message.activated",), "upload", ("messenger",)
)
DEAD_LETTERS = Topic("dead-letters", "source topic", ("any, with headers",), "all workers", ())

ALL_TOPICS = (IMPORT_REQUESTS, ROW_CHUNKS, CONTACT_CHANGES, MESSAGE_ACTIVATIONS, DEAD_LETTERS)

# Chunks carry thousands of rows; the broker and clients must accept messages this large.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
