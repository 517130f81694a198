"""Structured JSON logs. Every line carries the service name and, when known, the import id.

Use ``log = get_logger(__name__)`` and ``log.info("chunk applied", extra={"rows": n})``;
``import_context(import_id)`` sets the import id for everything logged inside the block.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

_import_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("import_id", default=None)
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, service, logger, msg, import_id, and any ``extra``."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        import_id = _import_id.get()
        if import_id is not None:
            out["import_id"] = import_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def setup_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to stderr as JSON lines. Safe to call more than once."""
    handler = logging.StreamHandler(sys.__stderr__)  # faust replaces sys.stderr with a logger
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


@contextlib.contextmanager
def import_context(import_id: str | None) -> Iterator[None]:
    """Tag every log line written inside the block with ``import_id``."""
    token = _import_id.set(import_id)
    try:
        yield
    finally:
        _import_id.reset(token)
