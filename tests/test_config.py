"""Configuration: one clear line naming a missing or malformed setting; the embedded default needs none."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector.config import load_settings
from connector.errors import ConfigError

PG = "postgresql://postgres@127.0.0.1:5432/test"
KEY = Fernet.generate_key().decode()


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CONNECTOR_INSTANCE_PATH": str(tmp_path), **values}


def test_embedded_default_needs_nothing_and_keeps_its_generated_secrets(tmp_path: Path) -> None:
    first = load_settings(env(tmp_path))
    again = load_settings(env(tmp_path))
    assert first.database_url == f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    assert first.redis_url is None and first.embedded_redis
    assert first.secret_key == again.secret_key and first.encryption_keys == again.encryption_keys
    Fernet(first.encryption_keys[0].encode())  # a usable key
    for name in ("secret_key", "connector_encryption_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CONNECTOR_ENCRYPTION_KEY"])
def test_a_server_database_requires_explicit_secrets(tmp_path: Path, missing: str) -> None:
    given = {"DATABASE_URL": PG, "SECRET_KEY": "x" * 32, "CONNECTOR_ENCRYPTION_KEY": KEY}
    del given[missing]
    with pytest.raises(ConfigError, match=f"^{missing}: required"):
        load_settings(env(tmp_path, **given))
    assert not (tmp_path / missing.lower()).exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL: expected a sqlite"),
        ("REDIS_URL", "http://localhost:6379", "REDIS_URL: expected a redis://"),
        ("CONNECTOR_ENCRYPTION_KEY", "not-a-key", "CONNECTOR_ENCRYPTION_KEY: each comma-separated key"),
        (
            "CONNECTOR_RESYNC_INTERVAL",
            "soon",
            "CONNECTOR_RESYNC_INTERVAL: expected a whole number",
        ),
        ("CONNECTOR_RESYNC_INTERVAL", "5", "CONNECTOR_RESYNC_INTERVAL: must be at least 30"),
        ("APP_URL", "crm.example.com", "APP_URL: expected an http"),
        ("SHOPIFY_API_VERSION", "2026-05", "SHOPIFY_API_VERSION: expected a quarterly version"),
        ("SHOPIFY_SHOP_URL_TEMPLATE", "https://example.com", "SHOPIFY_SHOP_URL_TEMPLATE: expected"),
        ("SECRET_KEY", "short", "SECRET_KEY: must be at least 16"),
        ("SMTP_URL", "mail.example.com:25", "SMTP_URL: expected a URL starting with smtp://"),
        ("CONNECTOR_LOG_FORMAT", "xml", "CONNECTOR_LOG_FORMAT: expected 'text' or 'json'"),
    ],
)
def test_malformed_settings_are_named(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env(tmp_path, **{name: value}))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_half_configured_shopify_app_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SHOPIFY_API_SECRET: required"):
        load_settings(env(tmp_path, SHOPIFY_API_KEY="abc"))
    assert not load_settings(env(tmp_path)).shopify_configured


def test_heroku_style_postgres_urls_select_psycopg(tmp_path: Path) -> None:
    s = load_settings(
        env(tmp_path, DATABASE_URL="postgres://u@db/x", SECRET_KEY="k" * 20, CONNECTOR_ENCRYPTION_KEY=KEY)
    )
    assert s.database_url == "postgresql+psycopg://u@db/x"


def test_several_encryption_keys_are_accepted_for_rotation(tmp_path: Path) -> None:
    other = Fernet.generate_key().decode()
    s = load_settings(env(tmp_path, CONNECTOR_ENCRYPTION_KEY=f"{KEY}, {other}"))
    assert s.encryption_keys == (KEY, other)


def embedded_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}


def test_the_command_prints_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "stores", "list"],
        env={**embedded_environ(), **env(tmp_path, CONNECTOR_RESYNC_INTERVAL="often")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "crm-connector: CONNECTOR_RESYNC_INTERVAL: expected a whole number, got 'often'"
    ]
