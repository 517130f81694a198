"""Request and response shapes shared by the routers: text fields checked as the rules say.

A text field that will be stored refuses what PostgreSQL cannot hold (NUL, lone surrogates);
a name shown on one line refuses control characters and text-direction overrides as well
(``shared.values``). Each refusal is a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from shared import values
from shared.errors import InvalidValue


def _checked(check: Callable[[str, str], str], what: str) -> Callable[[str | None], str | None]:
    """A pydantic validator from a shared.values check (its InvalidValue becomes a 422)."""

    def validator(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check(value, what)
        except InvalidValue as exc:
            raise ValueError(str(exc)) from None

    return validator


def _one_line(value: str, what: str) -> str:
    """A subject becomes an email header: one line (a placeholder may still bring a line
    break from a person's data; the email channel folds those)."""
    if "\n" in value or "\r" in value:
        raise InvalidValue(f"{what} is one line: remove the line break")
    return values.check_label(value, what)


Name = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(_checked(values.check_label, "name"))
]
Subject = Annotated[
    str | None, Field(max_length=998), AfterValidator(_checked(_one_line, "the subject"))
]
Body = Annotated[
    str, Field(max_length=100_000), AfterValidator(_checked(values.check_text, "the body"))
]
