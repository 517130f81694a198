"""What several value tests share: the accepted date forms and hypothesis strategies for
date-like and number-like text."""

from __future__ import annotations

import re

from hypothesis import strategies as st

ACCEPTED_FORMS = re.escape(
    "use DD/MM/YYYY, ISO 8601 (2015-12-31 or 2015-12-31T23:59:00Z) or Unix seconds"
)


_date_orders = st.sampled_from(["DMY", "MDY"])
_date_like = st.from_regex(
    r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}([T ][0-9:.,]{0,15}([Zz]|[+-][0-9:]{0,5})?)?",
    fullmatch=True,
)
_numberish = st.from_regex(
    r"[+-]?[0-9]{0,25}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,4})?", fullmatch=True
)
