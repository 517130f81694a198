"""Merger service: wiring only. ``python -m services.merger.main``."""

from __future__ import annotations

from services.merger.handler import MergerHandler
from shared.topics import ROW_CHUNKS
from shared.worker import serve

if __name__ == "__main__":
    serve("merger", [ROW_CHUNKS], MergerHandler, default_web_port=6102)
