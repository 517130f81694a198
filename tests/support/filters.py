"""The world the filter tests judge in: a fixed now, the custom attributes of every type, the
instants at either side of a midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
MIDNIGHT_2015 = datetime(2015, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
ATTRIBUTE_TYPES = {
    "plan": "string",
    "seats": "integer",
    "score": "float",
    "vip": "boolean",
    "renewal": "date",
}
VIPS = {"field": "tag", "op": "eq", "value": "vip"}
