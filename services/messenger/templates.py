"""Safe message templates: ``{{name}}``, ``{{email}}`` and ``{{custom.<attribute>}}``.

Only these placeholders are replaced, by plain string substitution: no template code runs, and a
missing value becomes the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*(name|email|custom\.([^{}]+?))\s*\}\}")


def render(template: str | None, contact: Mapping[str, Any]) -> str:
    if not template:
        return ""
    custom = contact.get("custom") or {}

    def value(match: re.Match[str]) -> str:
        attribute = match.group(2)
        found = custom.get(attribute) if attribute is not None else contact.get(match.group(1))
        if found is None:
            return ""
        if isinstance(found, bool):
            return "true" if found else "false"
        return str(found)

    return _PLACEHOLDER.sub(value, template)
