"""Every exception Usher raises on purpose, in one tree. ``str(e)`` is always a sentence a user
(or an operator, for the platform ones) can act on.

::

    UsherError
    ├── BadInput                  what a user sent cannot be used as it is
    │   ├── InvalidValue          one value (shared.values): "'foo@' is not a valid email address"
    │   ├── InvalidFilter         a filter, every problem with its path (shared.filters)
    │   └── FileProblem           a whole file or body (shared.csvfile, shared.jsonfile)
    ├── Refused                   an outbound request to an address not allowed (shared.outbound)
    │   └── Unresolved            its host name did not resolve now
    ├── PoisonMessage             a Kafka message that can never be processed (shared.worker)
    │   └── UndecodableMessage    not an Usher envelope of a known type (shared.events)
    └── SecretUnavailable         credentials cannot be sealed or opened (shared.crypto)

Each is re-exported by the module that raises it, so ``from shared.values import InvalidValue``
keeps working. Service-local exceptions (the upload API's ``ApiError``, the parser's
``SourceFailed``) stay in their services.
"""

from __future__ import annotations

from collections.abc import Sequence


class UsherError(Exception):
    """The root: something Usher refuses or cannot do, said in a sentence."""


class BadInput(UsherError):
    """What a user sent cannot be used as it is."""


class InvalidValue(BadInput):
    """A value that cannot be accepted; str(e) says what to fix (it quotes the value, shortened)."""


class InvalidFilter(BadInput):
    """A filter that cannot be evaluated; ``problems`` lists each one as "<path>: <what>"."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class FileProblem(BadInput):
    """The file (or body) as a whole cannot be imported; str(e) says what to fix."""


class Refused(UsherError):
    """The URL may not be requested; ``str(e)`` is the user-facing reason."""


class Unresolved(Refused):
    """The host name did not resolve (now): nothing can be said about where it leads."""


class PoisonMessage(UsherError):
    """The message can never be processed as it is; ``str(e)`` is the reason."""


class UndecodableMessage(PoisonMessage):
    """A Kafka message that is not a valid envelope of a known type."""


class SecretUnavailable(UsherError):
    """Connector credentials cannot be encrypted or decrypted (no key, a wrong key)."""


__all__ = [
    "BadInput",
    "FileProblem",
    "InvalidFilter",
    "InvalidValue",
    "PoisonMessage",
    "Refused",
    "SecretUnavailable",
    "UndecodableMessage",
    "Unresolved",
    "UsherError",
]
