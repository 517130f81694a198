"""What the filter tests share: the context they judge in (attributes of every type, segments
that refer to each other or loop), a person with every field and a condition."""

from __future__ import annotations

from typing import Any

from shared.filters import FilterContext
from tests.support.filters import ATTRIBUTE_TYPES, NOW, VIPS

CTX = FilterContext(
    attribute_types=ATTRIBUTE_TYPES,
    segments={
        "vips": VIPS,
        "pro_vips": {
            "and": [
                {"field": "segment", "op": "eq", "value": "vips"},
                {"field": "custom.plan", "op": "eq", "value": "pro"},
            ]
        },
        "loop_a": {"field": "segment", "op": "eq", "value": "loop_b"},
        "loop_b": {"not": {"field": "segment", "op": "ne", "value": "loop_a"}},
        "self": {"or": [{"field": "segment", "op": "eq", "value": "self"}]},
    },
    now=NOW,
)


def person(**fields: Any) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "id": "p1",
        "role": "user",
        "user_id": None,
        "email": None,
        "name": None,
        "phone": None,
        "signed_up_at": None,
        "last_seen_at": None,
        "last_seen_ip": None,
        "created_at": NOW,
        "updated_at": NOW,
        "tags": [],
        "custom": {},
        "events": {},
    }
    contact.update(fields)
    return contact


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return (
        {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
    )
