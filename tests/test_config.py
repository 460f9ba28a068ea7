"""Configuration: one clear line naming a missing or malformed setting; the embedded default needs none."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector.config import DECLARED, declared_default, load_settings, markdown_table
from connector.config_values import MOST, Whole
from connector.crm.insights import Rules
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
        ("CONNECTOR_TIME_ZONE", "Mars/Olympus", "CONNECTOR_TIME_ZONE: expected an IANA time zone"),
        ("CONNECTOR_TIME_ZONE", "../../etc/passwd", "CONNECTOR_TIME_ZONE: expected an IANA time zone"),
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


@pytest.mark.parametrize("crm", ["HUBSPOT", "SALESFORCE", "ZOHO"])
def test_half_configured_crm_app_is_named(tmp_path: Path, crm: str) -> None:
    # given a CRM app's client id without its secret, or the reverse, then one line naming both
    for given in ("ID", "SECRET"):
        with pytest.raises(ConfigError, match=rf"^{crm}_CLIENT_ID and {crm}_CLIENT_SECRET: set both"):
            load_settings(env(tmp_path, **{f"{crm}_CLIENT_{given}": "abc"}))
    # and an authorization address that is not http(s) is named
    address = {
        "HUBSPOT": "HUBSPOT_AUTHORIZE_URL",
        "SALESFORCE": "SALESFORCE_LOGIN_URL",
        "ZOHO": "ZOHO_ACCOUNTS_URL",
    }
    with pytest.raises(ConfigError, match=rf"^{address[crm]}: expected an http"):
        load_settings(env(tmp_path, **{address[crm]: "login.example.com"}))


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


def test_the_readme_table_is_the_declarations() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Configuration") :].split("\n## ", 1)[0]
    table = section[section.index("| variable |") :].split("\n\n", 1)[0].strip()
    assert table == markdown_table(), (
        f"README.md's configuration table is stale; it should be:\n{markdown_table()}"
    )
    assert f"a whole number is at most {MOST} unless" in section.replace("\n", " ")


def test_every_setting_is_declared_once_with_a_meaning() -> None:
    names = [declared.env for declared in DECLARED.values()]
    assert len(names) == len(set(names))
    assert all(declared.meaning and "|" not in declared.meaning for declared in DECLARED.values())


def test_an_empty_environment_loads_the_declared_defaults(tmp_path: Path) -> None:
    loaded = load_settings(env(tmp_path))
    for name, declared in DECLARED.items():
        if declared.default is not None:
            assert getattr(loaded, name) == declared_default(name) == declared.read(declared.default)
    assert loaded.resync_interval_s == 900 and loaded.channel_credit == (
        ("revenue", 0.5),
        ("new_customers", 0.5),
    )


def test_the_insight_rules_outside_an_app_are_the_declared_defaults(tmp_path: Path) -> None:
    loaded = load_settings(env(tmp_path))
    assert Rules() == Rules(loaded.inactive_days, loaded.advocate_min_orders, loaded.advocate_window_days)


@pytest.mark.parametrize("name", [n for n, d in DECLARED.items() if isinstance(d.read, Whole)])
def test_each_whole_number_setting_holds_its_bound(tmp_path: Path, name: str) -> None:
    declared = DECLARED[name]
    assert isinstance(declared.read, Whole)
    least = declared.read.at_least
    assert getattr(load_settings(env(tmp_path, **{declared.env: str(least)})), name) == least
    with pytest.raises(ConfigError, match=f"^{declared.env}: must be at least {least}, got {least - 1}$"):
        load_settings(env(tmp_path, **{declared.env: str(least - 1)}))
    most = declared.read.at_most
    assert getattr(load_settings(env(tmp_path, **{declared.env: str(most)})), name) == most
    with pytest.raises(ConfigError, match=f"^{declared.env}: must be at most {most}, got {most + 1}$"):
        load_settings(env(tmp_path, **{declared.env: str(most + 1)}))


def test_each_time_setting_at_its_most_still_names_a_date(tmp_path: Path) -> None:
    """Insights, retention and the sync window subtract these from now: a day or second
    setting at its bound must not overflow the calendar."""
    wholes = {n: (d.env, d.read) for n, d in DECLARED.items() if isinstance(d.read, Whole)}
    timed = {n: (env_name, read) for n, (env_name, read) in wholes.items() if read.unit in ("s", "days")}
    loaded = load_settings(
        env(tmp_path, **{env_name: str(read.at_most) for env_name, read in timed.values()})
    )
    now = datetime.now(UTC)
    for name, (_env_name, read) in timed.items():
        step = timedelta(days=1) if read.unit == "days" else timedelta(seconds=1)
        assert (now - getattr(loaded, name) * step).year > 1900, name
    assert {"resync_interval_s", "lookback_s", "inactive_days", "inbox_retention_days"} <= timed.keys()


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    loaded = load_settings(env(tmp_path, CONNECTOR_RESYNC_INTERVAL="", APP_URL="", SHOPIFY_API_KEY=""))
    assert loaded.resync_interval_s == 900 and loaded.app_url == "http://127.0.0.1:5000"
    assert not loaded.app_url_given and loaded.shopify_api_key is None


def test_a_bad_value_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^CONNECTOR_LOG_FORMAT: "):
        load_settings(env(tmp_path / "fresh", CONNECTOR_LOG_FORMAT="xml"))
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_stored_secret_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(env(tmp_path))
    assert str(raised.value) == f"SECRET_KEY: must be at least 16 characters (in {tmp_path / 'secret_key'})"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "CONNECTOR_MAIL_FROM",
            "crm@example.com\r\nBcc: all@example.com",
            "CONNECTOR_MAIL_FROM: expected an e-mail",
        ),
        ("CONNECTOR_ENCRYPTION_KEY", ",", "CONNECTOR_ENCRYPTION_KEY: each comma-separated key"),
        ("APP_URL", "http://[::1", "APP_URL: expected an http(s) URL such as"),
        ("SMTP_URL", "smtp://[mail", "SMTP_URL: expected a URL starting with smtp://"),
        ("REDIS_URL", "redis://[::1:6379", "REDIS_URL: expected a redis://"),
        ("CONNECTOR_CHANNEL_CREDIT", "revenue=nan,orders=0.5", "CONNECTOR_CHANNEL_CREDIT: must look like"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY: must be at least 1"),
        ("CONNECTOR_ALLOW_PRIVATE_URLS", "yes", "CONNECTOR_ALLOW_PRIVATE_URLS: expected 'true' or 'false'"),
    ],
)
def test_values_off_the_happy_path_are_named_in_one_line(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env(tmp_path, **{name: value}))
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
