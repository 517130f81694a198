"""A chunk that one record cannot stop (services/parser/sending.py)."""

from __future__ import annotations

from services.parser.sending import UNSTORABLE, quarantine
from shared.events import RowChunk


def test_a_record_that_cannot_be_encoded_fails_alone() -> None:
    chunk = RowChunk(
        import_id="imp_1",
        workspace_id="ws_1",
        seq=0,
        kind="users",
        rows=[
            {"_row": 1, "email": "a@x.io"},
            {"_row": 2, "email": "b@x.io", "custom": {"n": 10**40}},
            {"_row": 3, "email": "c@x.io", "name": "\ud800"},
        ],
        errors=[{"row": 4, "errors": ["bad"], "cells": ["\udcff"]}],
    )
    safe = quarantine(chunk)
    assert [r["_row"] for r in safe.rows] == [1]
    assert sorted(e["row"] for e in safe.errors) == [2, 3, 4]
    assert all(e["errors"] == [UNSTORABLE] for e in safe.errors)
