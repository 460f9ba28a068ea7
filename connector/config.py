"""Configuration: every setting the connector reads, from environment variables only.

Each setting is declared once, as a field of `Settings`: its variable, its default (as one
would write it in the environment), what it accepts (connector/config_values.py) and what it
means. Loading, the one-line error on a bad value ("NAME: what it accepts") and the README's
table come from that declaration. The embedded default needs no settings and keeps its
database and generated secrets in the instance folder (CONNECTOR_INSTANCE_PATH, else the
per-user data directory).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from connector import config_values as kind
from connector.config_values import Setting, Whole, crm_setting, setting
from connector.errors import ConfigError

INSTANCE = (
    "the per-user data folder (platformdirs, e.g. `~/.local/share/crm-connector`; `./instance` "
    "only where no such folder can be named and `./instance` exists)"
)
DAYS = 36500  # 100 years
GENERATED = "generated once into `instance/{}` (embedded only)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """What the connector runs with; build it with `load_settings`. Fields declared with
    `setting(...)` are read from the environment, in this order in the README."""

    database_url: str = setting(
        "DATABASE_URL",
        None,
        kind.database_url,
        "`sqlite:///…` or `postgresql://…` (psycopg 3)",
        "SQLite file `instance/crm.sqlite3`",
    )
    redis_url: str | None = setting(
        "REDIS_URL",
        None,
        kind.redis_url,
        "`redis://`, `rediss://` or `unix://`",
        "embedded Redis on a unix socket in `instance/redis/`",
    )
    secret_key: str = setting(
        "SECRET_KEY",
        None,
        kind.secret_key,
        "Flask sessions, at least 16 characters; required with a server database",
        GENERATED.format("secret_key"),
    )
    encryption_keys: tuple[str, ...] = setting(
        "CONNECTOR_ENCRYPTION_KEY",
        None,
        kind.fernet_keys,
        (
            "Fernet key(s) for tokens at rest; comma-separate several to rotate (first encrypts, "
            "all decrypt); required with a server database"
        ),
        GENERATED.format("connector_encryption_key"),
    )
    instance_path: Path = setting(  # noqa: RUF009 (ruff cannot see that it returns a field)
        "CONNECTOR_INSTANCE_PATH",
        None,
        kind.folder,
        "where the embedded database, Redis and secrets live (`instance/…` in this table means this folder)",
        INSTANCE,
    )
    app_url: str = setting(
        "APP_URL",
        "http://127.0.0.1:5000",
        kind.http_url,
        "public base URL for callbacks and webhook addresses",
    )
    shopify_api_key: str | None = setting(
        "SHOPIFY_API_KEY",
        None,
        kind.text,
        (
            "the Shopify app's API key, with `SHOPIFY_API_SECRET` (both or neither); without them "
            "the Shopify routes answer 503"
        ),
    )
    shopify_api_secret: str | None = setting(
        "SHOPIFY_API_SECRET", None, kind.text, "the Shopify app's API secret (both or neither)"
    )
    shopify_previous_secret: str | None = setting(
        "SHOPIFY_API_SECRET_PREVIOUS",
        None,
        kind.text,
        "the old secret during a rotation (webhooks signed with it for up to an hour)",
    )
    shopify_api_version: str = setting(
        "SHOPIFY_API_VERSION",
        "2026-07",
        kind.matching(r"\d{4}-(01|04|07|10)|unstable", "a quarterly version such as 2026-07"),
        "Admin API version",
    )
    shopify_scopes: str = setting(
        "SHOPIFY_SCOPES",
        "read_customers,read_orders,read_products",
        kind.matching(r"[a-z_]+(,[a-z_]+)*", "comma-separated scope names"),
        "requested scopes; add `read_all_orders` (Shopify must approve it) to sync orders older than 60 days",
    )
    shopify_shop_url_template: str = setting(
        "SHOPIFY_SHOP_URL_TEMPLATE",
        "https://{shop}",
        kind.shop_url_template,
        "where shops are reached (the sandbox sets its own)",
    )
    hubspot_client_id: str | None = crm_setting("HUBSPOT_CLIENT_ID")
    hubspot_client_secret: str | None = crm_setting("HUBSPOT_CLIENT_SECRET")
    hubspot_authorize_url: str = crm_setting(
        "HUBSPOT_AUTHORIZE_URL", "https://app.hubspot.com/oauth/authorize"
    )
    hubspot_api_url: str = crm_setting("HUBSPOT_API_URL", "https://api.hubapi.com")
    salesforce_client_id: str | None = crm_setting("SALESFORCE_CLIENT_ID")
    salesforce_client_secret: str | None = crm_setting("SALESFORCE_CLIENT_SECRET")
    salesforce_login_url: str = crm_setting("SALESFORCE_LOGIN_URL", "https://login.salesforce.com")
    zoho_client_id: str | None = crm_setting("ZOHO_CLIENT_ID")
    zoho_client_secret: str | None = crm_setting("ZOHO_CLIENT_SECRET")
    zoho_accounts_url: str = crm_setting("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.com")
    resync_interval_s: int = setting(
        "CONNECTOR_RESYNC_INTERVAL", "900", Whole(30, "s"), "how often every store is re-synced"
    )
    lookback_s: int = setting(
        "CONNECTOR_LOOKBACK", "3600", Whole(0, "s"), "overlap re-read on each incremental sync"
    )
    reconcile_interval_s: int = setting(
        "CONNECTOR_RECONCILE_INTERVAL",
        "86400",
        Whole(10, "s"),
        "how often each store's id sets are compared to find deletions",
    )
    deletion_policy: str = setting(
        "CONNECTOR_DELETION_POLICY",
        "mark",
        kind.one_of("mark", "delete"),
        "`mark` keeps a tombstone of a record deleted on the platform; `delete` removes its rows",
    )
    sync_step_s: int = setting(
        "CONNECTOR_SYNC_STEP_SECONDS",
        "60",
        Whole(1, "s"),
        "how long one sync job runs before it hands over to the next (fairness across stores)",
    )
    sync_lease_s: int = setting(
        "CONNECTOR_SYNC_LEASE_SECONDS",
        "120",
        Whole(5, "s"),
        "a sync step's lease; a killed worker's run is taken over after it lapses",
    )
    sync_write_records: int = setting(
        "CONNECTOR_SYNC_WRITE_RECORDS",
        "1000",
        Whole(1),
        (
            "records written per transaction (consecutive platform pages are joined up to this; "
            "the checkpoint is the last page's)"
        ),
    )
    sync_read_ahead: int = setting(
        "CONNECTOR_SYNC_READ_AHEAD",
        "10",
        Whole(0),
        (
            "WooCommerce pages (or Shopify export chunks of 250 records) a sync step downloads on a "
            "second thread while it writes; `0` reads and writes in turn"
        ),
    )
    woo_concurrency: int = setting(
        "CONNECTOR_WOO_CONCURRENCY", "4", Whole(1), "requests in flight to one WooCommerce site, at most"
    )
    push_backoff_ms: int = setting(
        "CONNECTOR_PUSH_BACKOFF_MS",
        "1000",
        Whole(0),
        "a CRM's first wait after a 5xx (doubling to 60 s; a 429 as told)",
    )
    inactive_days: int = setting(
        "CONNECTOR_INACTIVE_DAYS",
        "180",
        Whole(1, "days", DAYS),
        "inactivity window for the re-engagement list",
    )
    advocate_min_orders: int = setting(
        "CONNECTOR_ADVOCATE_MIN_ORDERS", "2", Whole(1), "brand-advocate rule: at least this many orders…"
    )
    advocate_window_days: int = setting(
        "CONNECTOR_ADVOCATE_WINDOW_DAYS", "183", Whole(1, "days", DAYS), "…within this many days"
    )
    channel_credit: tuple[tuple[str, float], ...] = setting(
        "CONNECTOR_CHANNEL_CREDIT",
        "revenue=0.5,new_customers=0.5",
        kind.credit_weights,
        (
            "a channel's credit: weights (adding up to 1) of its shares of `revenue`, `orders`, "
            "`customers`, `new_customers`"
        ),
    )
    notify_per_minute: int = setting(
        "CONNECTOR_NOTIFY_PER_MINUTE",
        "60",
        Whole(1),
        "notification e-mails sent per store per minute, at most",
    )
    inbox_retention_days: int = setting(
        "CONNECTOR_INBOX_RETENTION_DAYS",
        "14",
        Whole(1, "days", DAYS),
        "how long processed, ignored, refused and uninstalled webhook deliveries are kept",
    )
    uninstalled_retention_days: int = setting(
        "CONNECTOR_UNINSTALLED_RETENTION_DAYS",
        "7",
        Whole(3, "days", DAYS),
        "an uninstalled shop whose `shop/redact` never arrived is erased after this, with a receipt",
    )
    max_webhook_bytes: int = setting(
        "CONNECTOR_MAX_WEBHOOK_BYTES", "2097152", Whole(1024, "bytes"), "larger request bodies get 413"
    )
    smtp_url: str | None = setting(
        "SMTP_URL",
        None,
        kind.smtp_url,
        "notification e-mail: `smtp://[user:pass@]host:port` (STARTTLS when a user is given) or `smtps://`",
        "unset (`.eml` files in `instance/outbox/`)",
    )
    mail_from: str = setting(
        "CONNECTOR_MAIL_FROM",
        "crm-connector@localhost",
        kind.mail_address,
        "the notification e-mails' sender",
    )
    time_zone: str = setting(
        "CONNECTOR_TIME_ZONE",
        "UTC",
        kind.time_zone,
        "the merchant's time zone (IANA name): the dashboard shows exact times in it",
    )
    log_format: str = setting(
        "CONNECTOR_LOG_FORMAT", "text", kind.one_of("text", "json"), "`text` or `json` log lines"
    )
    allow_private_urls: bool = setting(
        "CONNECTOR_ALLOW_PRIVATE_URLS",
        None,
        kind.flag,
        (
            "`true` or `false`: whether a WooCommerce site URL given at `/woocommerce/connect` may "
            "resolve to a loopback, private, link-local or reserved address (the sandbox and the demo "
            "are on 127.0.0.1)"
        ),
        "`true` on the embedded SQLite default, else `false`",
    )
    web_concurrency: int = setting(
        "WEB_CONCURRENCY", "2", Whole(1), "web worker processes for `serve` (its `--workers` overrides)"
    )
    app_url_given: bool  # APP_URL was set (else app_url is the local default, a guess)

    @property
    def embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def shopify_configured(self) -> bool:
        return bool(self.shopify_api_key and self.shopify_api_secret)


DECLARED: dict[str, Setting] = {
    f.name: f.metadata["setting"] for f in dataclasses.fields(Settings) if "setting" in f.metadata
}
SECRET_MAKERS: dict[str, Callable[[], str]] = {
    "secret_key": kind.new_secret_key,
    "encryption_keys": kind.new_fernet_key,
}


def load_settings(environ: Mapping[str, str] | None = None, *, write_secrets: bool = True) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad one, before
    anything is written. The embedded default's secrets are then generated into the instance
    folder the first time, unless `write_secrets` is off (only checking: nothing is written,
    the secrets made up for the check are thrown away). An empty variable counts as unset."""
    env = _given(environ)
    values = {name: _value(env, name) for name in DECLARED}
    values["instance_path"] = instance = instance_folder(env)
    values["database_url"] = values["database_url"] or _embedded_database_url(instance)
    embedded = str(values["database_url"]).startswith("sqlite")
    if values["allow_private_urls"] is None:
        values["allow_private_urls"] = embedded
    if bool(values["shopify_api_key"]) != bool(values["shopify_api_secret"]):
        missing = "SHOPIFY_API_SECRET" if values["shopify_api_key"] else "SHOPIFY_API_KEY"
        raise ConfigError(f"{missing}: required when the other Shopify app credential is set")
    for name in ("HUBSPOT", "SALESFORCE", "ZOHO"):
        if bool(values[f"{name.lower()}_client_id"]) != bool(values[f"{name.lower()}_client_secret"]):
            raise ConfigError(f"{name}_CLIENT_ID and {name}_CLIENT_SECRET: set both or neither")
    for name, make in SECRET_MAKERS.items():
        if values[name] is None:
            values[name] = _stored_secret(name, instance, embedded, make, write_secrets)
    return Settings(**values, app_url_given="APP_URL" in env)


@functools.cache
def declared_default(name: str) -> Any:
    """The value a `Settings` field has when its variable is unset (for code that runs
    outside an app, such as the insight rules' defaults). Read once: values are immutable."""
    declared = DECLARED[name]
    return None if declared.default is None else declared.read(declared.default)


def instance_folder(environ: Mapping[str, str] | None = None) -> Path:
    """CONNECTOR_INSTANCE_PATH; else the per-user data directory (platformdirs, e.g.
    ~/.local/share/crm-connector); else `./instance`, only if it exists. Nothing is created."""
    given: Path | None = _value(_given(environ), "instance_path")
    if given is not None:
        return given
    per_user = Path(platformdirs.user_data_dir("crm-connector", appauthor=False))
    if per_user.is_absolute() and not str(per_user).startswith("~"):
        return per_user.resolve()
    if Path("instance").is_dir():
        return Path("instance").resolve()
    raise ConfigError("CONNECTOR_INSTANCE_PATH: no per-user data directory here; set it to a folder to use")


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The database the settings point at, found without creating anything."""
    env = _given(environ)
    return _value(env, "database_url") or _embedded_database_url(instance_folder(env))


def embedded_database_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The SQLite file the settings point at (None for a server database), found without
    creating anything: commands that only read use it to say where they looked."""
    url = database_url(environ)
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///")).resolve()


def _given(environ: Mapping[str, str] | None) -> dict[str, str]:
    """The variables that are set to something (an empty one counts as unset)."""
    return {k: v for k, v in (os.environ if environ is None else environ).items() if v}


def _value(env: Mapping[str, str], name: str) -> Any:
    """A declared setting's value: the variable read, else its default read; None when unset
    without a default. A bad value raises ConfigError: the variable, then what it accepts."""
    declared = DECLARED[name]
    raw = env.get(declared.env)
    return declared_default(name) if raw is None else _read(declared, raw)


def _read(declared: Setting, raw: str, source: str = "") -> Any:
    try:
        return declared.read(raw)
    except ValueError as bad:
        reason = " ".join(str(bad).split()) or "not accepted"
        raise ConfigError(f"{declared.env}: {reason}{source}") from None


def _embedded_database_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'crm.sqlite3'}"


def _stored_secret(name: str, instance: Path, embedded: bool, make: Callable[[], str], write: bool) -> Any:
    """A secret left unset: kept in the instance folder for the embedded default (made the
    first time, mode 0600), required with a server database."""
    declared = DECLARED[name]
    if not embedded:
        raise ConfigError(f"{declared.env}: required when DATABASE_URL points at a server database")
    path = instance / declared.env.lower()
    if path.exists():
        return _read(declared, path.read_text().strip(), f" (in {path})")
    value = make()
    if write:
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
    return _read(declared, value)


def markdown_table() -> str:
    """The README's configuration table (tests/test_config.py checks that the README has it)."""
    return kind.markdown_table(DECLARED.values())
