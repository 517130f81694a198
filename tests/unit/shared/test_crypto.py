"""Encrypting connector credentials (shared/crypto)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.crypto import decrypt_json, encrypt_json
from shared.errors import SecretUnavailable
from shared.settings import Settings


def _settings(key: str | None) -> Settings:
    return Settings(secret_key=key)


def test_round_trip_hides_the_value() -> None:
    settings = _settings(Fernet.generate_key().decode())
    token = encrypt_json(settings, {"api_key": "abc123-us6"})
    assert b"abc123" not in token
    assert decrypt_json(settings, token) == {"api_key": "abc123-us6"}


def test_rotation_keeps_old_secrets_readable() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = encrypt_json(_settings(old), {"secret": "s"})
    assert decrypt_json(_settings(f"{new},{old}"), token) == {"secret": "s"}
    with pytest.raises(SecretUnavailable, match="cannot be decrypted"):
        decrypt_json(_settings(new), token)


@pytest.mark.parametrize("key", [None, "", "not-a-fernet-key"])
def test_unusable_keys(key: str | None) -> None:
    with pytest.raises(SecretUnavailable, match="USHER_SECRET_KEY"):
        encrypt_json(_settings(key), {"a": "b"})
