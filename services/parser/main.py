"""Parser service: wiring only. ``python -m services.parser.main``."""

from __future__ import annotations

from services.parser.handler import ParserHandler
from shared.topics import IMPORT_REQUESTS
from shared.worker import serve

if __name__ == "__main__":
    serve(
        "parser",
        [IMPORT_REQUESTS],
        ParserHandler,
        default_web_port=6101,
        timers={"requeue_stalled": 15.0, "expire_uploads": 15.0},
    )
