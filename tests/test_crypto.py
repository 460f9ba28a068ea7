"""Secrets at rest: sealed with the first key, opened with any, rotated onto the first."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from connector.crypto import Vault, derived_keys
from connector.errors import ConfigError

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_seal_and_open_round_trip() -> None:
    vault = Vault((OLD,))
    sealed = vault.seal({"access_token": "shpat_x"})
    assert b"shpat_x" not in sealed
    assert vault.open(sealed) == {"access_token": "shpat_x"}


def test_rotation_opens_old_values_and_reseals_them_under_the_new_key() -> None:
    sealed_old = Vault((OLD,)).seal({"k": "v"})
    rotating = Vault((NEW, OLD))
    assert rotating.open(sealed_old) == {"k": "v"}
    resealed = rotating.rotate(sealed_old)
    assert Vault((NEW,)).open(resealed) == {"k": "v"}


def test_a_value_sealed_with_an_unknown_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="CONNECTOR_ENCRYPTION_KEY"):
        Vault((NEW,)).open(Vault((OLD,)).seal({"k": "v"}))


def test_derived_keys_are_per_key_and_per_purpose_and_stable() -> None:
    keys = derived_keys((NEW, OLD), "suppression")
    assert len(keys) == 2 and keys[0] != keys[1] and all(len(k) == 32 for k in keys)
    assert derived_keys((NEW,), "suppression")[0] == keys[0]  # the same material, the same key
    assert derived_keys((NEW,), "another purpose")[0] != keys[0]
    with pytest.raises(ConfigError):
        derived_keys((), "suppression")
