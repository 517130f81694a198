"""Encryption at rest of connector credentials (``imports.secret``).

Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp) under ``USHER_SECRET_KEY``. The setting may
hold several keys separated by commas: the first encrypts, all of them decrypt, so a key can be
rotated without losing the credentials of imports still running.

Only the upload service (which receives the credentials) encrypts and only the parser (which
pulls from the vendor) decrypts. Plain credentials never go to Kafka, logs or API responses.
"""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.errors import SecretUnavailable
from shared.settings import Settings

__all__ = ["SecretUnavailable", "decrypt_json", "encrypt_json"]


def _fernet(settings: Settings) -> MultiFernet:
    raw = settings.secret_key or ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise SecretUnavailable(
            "USHER_SECRET_KEY is not set: remote imports need it to encrypt their credentials"
        )
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError):
        raise SecretUnavailable(
            "USHER_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None


def encrypt_json(settings: Settings, value: dict[str, Any]) -> bytes:
    """The encrypted token of ``value`` (a JSON object). Raises :class:`SecretUnavailable`."""
    return _fernet(settings).encrypt(orjson.dumps(value))


def decrypt_json(settings: Settings, token: bytes) -> dict[str, Any]:
    """The object :func:`encrypt_json` encrypted. Raises :class:`SecretUnavailable` when no key
    opens it (a rotated-out key, a tampered value)."""
    try:
        data = _fernet(settings).decrypt(bytes(token))
    except InvalidToken:
        raise SecretUnavailable(
            "the stored credentials cannot be decrypted with USHER_SECRET_KEY"
            " (was the key changed?): start the import again"
        ) from None
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise SecretUnavailable("the stored credentials are not valid")
    return value
