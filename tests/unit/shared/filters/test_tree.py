"""The filter tree (shared.filters.tree): the context is checked, and a filter that matches
everyone is recognised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from shared.filters import FilterContext, compile_filter
from tests.support.filters import NOW
from tests.unit.shared.filters._helpers import CTX


def test_context_is_checked() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FilterContext({}, {}, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown type"):
        FilterContext({"plan": "text"}, {}, NOW)


@pytest.mark.parametrize(
    ("filter_", "everyone"),
    [
        ({"and": []}, True),
        ({"or": [{"and": []}]}, True),
        ({"not": {"or": []}}, True),
        ({"or": [{"field": "tag", "op": "eq", "value": "x"}, {"and": []}]}, True),
        ({"or": []}, False),
        ({"and": [{"field": "tag", "op": "eq", "value": "x"}]}, False),
        ({"and": [{"and": []}, {"field": "role", "op": "eq", "value": "user"}]}, False),
        ({"field": "email", "op": "exists"}, False),
    ],
)
def test_an_audience_that_matches_everyone_is_recognised(filter_: Any, everyone: bool) -> None:
    assert compile_filter(filter_, CTX).matches_everyone is everyone
