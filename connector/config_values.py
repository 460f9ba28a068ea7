"""The kinds of value a setting takes: each reader turns a variable's text into its value,
or raises ValueError saying, in a few words, what it accepts. Nothing here looks at the
environment; connector/config.py declares which setting takes which kind and reads them.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import ParseResult, urlparse

from cryptography.fernet import Fernet

Reader = Callable[[str], Any]  # the variable's text → its value; ValueError("what it accepts") if bad
CREDIT_METRICS = ("revenue", "orders", "customers", "new_customers")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One environment variable. `default` is written as in the environment and read like a
    given value (None: unset, or worked out when loading, as `shown` says for the README)."""

    env: str
    default: str | None
    read: Reader
    meaning: str
    shown: str | None = None


def setting(env: str, default: str | None, read: Reader, meaning: str, shown: str | None = None) -> Any:
    """A `Settings` field read from `env` (Any: the field's annotation is its type)."""
    return dataclasses.field(metadata={"setting": Setting(env, default, read, meaning, shown)})


CRM_ADDRESSES = {
    "HUBSPOT_AUTHORIZE_URL": "HubSpot's authorization page (the sandbox sets its own)",
    "HUBSPOT_API_URL": (
        "HubSpot's API and token endpoint (`/oauth/2026-03/token`) for a portal connected by OAuth"
    ),
    "SALESFORCE_LOGIN_URL": (
        "Salesforce's login host (`https://test.salesforce.com` for its sandboxes, or a My Domain)"
    ),
    "ZOHO_ACCOUNTS_URL": "where Zoho's consent starts (the code is redeemed in the user's own data centre)",
}


def crm_setting(env: str, default: str | None = None) -> Any:
    """A CRM app's setting for the dashboard's Connect: its client id or secret (text, unset by
    default; both or neither), or an address (`CRM_ADDRESSES` says what each is)."""
    crm = env.split("_")[0].capitalize().replace("Hubspot", "HubSpot")
    if env.endswith("_CLIENT_ID"):
        meaning = f"the connector's own {crm} app's client id, with `{env[:-2]}SECRET` (both or neither)"
        return setting(env, None, text, meaning + "; without them the dashboard points at the CLI")
    if env.endswith("_CLIENT_SECRET"):
        return setting(env, None, text, f"that {crm} app's client secret")
    return setting(env, default, http_url, CRM_ADDRESSES[env])


MOST = 10**9  # any whole-number setting, at most (31 years in seconds): past it, dates overflow


@dataclasses.dataclass(frozen=True)
class Whole:
    """A whole number from `at_least` to `at_most` (`unit` is for the README). Days stop at
    100 years: a date further back than year 1 cannot be reckoned."""

    at_least: int
    unit: str = ""
    at_most: int = MOST

    def __call__(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if value < self.at_least:
            raise ValueError(f"must be at least {self.at_least}, got {value}")
        if value > self.at_most:
            raise ValueError(f"must be at most {self.at_most}, got {value}")
        return value

    def bound(self) -> str:
        most = f"≤ {self.at_most}" if self.at_most != MOST else ""
        return ", ".join(part for part in (self.unit, f"≥ {self.at_least}", most) if part)


def matching(pattern: str, words: str) -> Reader:
    """Text that matches `pattern` whole; `words` say what that is."""

    def read(raw: str) -> str:
        if not re.fullmatch(pattern, raw):
            raise ValueError(f"expected {words}, got {raw!r}")
        return raw

    return read


def one_of(*choices: str) -> Reader:
    return matching("|".join(map(re.escape, choices)), " or ".join(f"'{c}'" for c in choices))


def text(raw: str) -> str:
    return raw


def time_zone(raw: str) -> str:
    """An IANA time zone name, as the platforms give them (Shopify's ianaTimezone,
    WooCommerce's timezone_string): Europe/Berlin, America/New_York, UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name, e.g. Europe/Berlin or UTC") from None
    return raw


def flag(raw: str) -> bool:
    return bool(one_of("true", "false")(raw) == "true")


def folder(raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def database_url(raw: str) -> str:
    """SQLite or PostgreSQL through psycopg 3 (postgres:// is the form Heroku-style hosts hand out)."""
    for short in ("postgres://", "postgresql://"):
        if raw.startswith(short):
            raw = "postgresql+psycopg://" + raw.removeprefix(short)
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", raw):
        raise ValueError("expected a sqlite:/// or postgresql:// URL")
    return raw


def url(raw: str, words: str) -> ParseResult:
    """`raw` taken apart (a malformed one, such as `http://[::1`, fails with `words`)."""
    try:
        return urlparse(raw)
    except ValueError:
        raise ValueError(words) from None


def redis_url(raw: str) -> str:
    words = "expected a redis://, rediss:// or unix:// URL"
    if url(raw, words).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(words)
    return raw


def http_url(raw: str) -> str:
    words = "expected an http(s) URL such as https://crm.example.com"
    parsed = url(raw, words)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(words)
    return raw.rstrip("/")


def shop_url_template(raw: str) -> str:
    words = "expected an http(s) URL containing {shop}"
    if "{shop}" not in raw or url(raw.replace("{shop}", "x"), words).scheme not in ("http", "https"):
        raise ValueError(words)
    return raw.rstrip("/")


def smtp_url(raw: str) -> str:
    words = "expected a URL starting with smtp:// or smtps://"
    parsed = url(raw, words)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError(words)
    return raw


def mail_address(raw: str) -> str:
    """An e-mail header's address (`a@b` or `Name <a@b>`): no line breaks or other control characters."""
    if "@" not in raw or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise ValueError("expected an e-mail address such as crm@example.com")
    return raw


def secret_key(raw: str) -> str:
    if len(raw) < 16:
        raise ValueError("must be at least 16 characters")
    return raw


def new_secret_key() -> str:
    return secrets.token_urlsafe(48)


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def fernet_keys(raw: str) -> tuple[str, ...]:
    """One Fernet key or several, comma-separated (rotation: the first encrypts, all decrypt)."""
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    for key in keys or ("",):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(
                "each comma-separated key must be a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return keys


def credit_weights(raw: str) -> tuple[tuple[str, float], ...]:
    """`metric=weight,...`: a channel's credit is the weighted sum of its shares of those metrics."""
    weights: list[tuple[str, float]] = []
    for part in raw.split(","):
        metric, _, number = part.partition("=")
        try:
            weight = float(number)
        except ValueError:
            weight = -1.0
        if metric.strip() not in CREDIT_METRICS or not 0 <= weight <= 1:
            raise ValueError(
                f"must look like 'revenue=0.5,new_customers=0.5' (metrics: "
                f"{', '.join(CREDIT_METRICS)}; weights 0..1), got {raw!r}"
            )
        weights.append((metric.strip(), weight))
    if abs(sum(w for _m, w in weights) - 1) > 1e-9:
        raise ValueError(f"the weights must add up to 1, got {raw!r}")
    return tuple(weights)


def markdown_table(declared: Iterable[Setting]) -> str:
    """The README's configuration table: one row per setting, in the order declared."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for one in declared:
        rows.append(f"| `{one.env}` | {_shown_default(one)} | {one.meaning} |")
    return "\n".join(rows)


def _shown_default(declared: Setting) -> str:
    if declared.shown is not None:
        return declared.shown
    if declared.default is None:
        return "unset"
    bound = declared.read.bound() if isinstance(declared.read, Whole) else ""
    return f"`{declared.default}`" + (f" ({bound})" if bound else "")
