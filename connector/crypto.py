"""Secrets at rest: platform tokens and webhook secrets are Fernet-encrypted.

CONNECTOR_ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts,
all decrypt, and `rotate` re-encrypts a value under the first (key rotation). Keys for
other purposes (the erasure suppressions' HMAC) are derived from the same material.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connector.errors import ConfigError


class Vault:
    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ConfigError("CONNECTOR_ENCRYPTION_KEY: at least one key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, value: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            opened: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise ConfigError(
                "CONNECTOR_ENCRYPTION_KEY: a stored secret was encrypted with a key that is not configured"
            ) from None
        return opened

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)


def derived_keys(keys: tuple[str, ...], purpose: str) -> tuple[bytes, ...]:
    """One key per configured encryption key, for `purpose` (the first is current): a
    value keyed with them cannot be recomputed without the key material."""
    if not keys:
        raise ConfigError("CONNECTOR_ENCRYPTION_KEY: at least one key is required")
    return tuple(
        hmac.new(base64.urlsafe_b64decode(k.encode()), purpose.encode(), hashlib.sha256).digest()
        for k in keys
    )
