"""A store's profile: the name, locale, IANA time zone and currency it says of itself, read from its
platform when it is added or checked and kept on the store. What the platform gives is
untrusted: a name is cut to one clean line, a locale Babel does not know or a zone the tz
database does not hold is ignored (logged), and the domain, en_US and CONNECTOR_TIME_ZONE
stand in for whatever is missing.
"""

from __future__ import annotations

import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency

import platforms
from connector import logs
from connector.config import Settings
from connector.crypto import Vault
from connector.db.models import Store
from connector.errors import ConnectorError
from platforms.protocol import StoreProfile

log = logs.get(__name__)
FALLBACK_LOCALE = "en_US"


def refresh(settings: Settings, vault: Vault, store: Store) -> None:
    """Ask the store's platform and keep what is valid (the caller commits the store); a
    platform that cannot be asked leaves the profile as it was."""
    credentials = vault.open(store.credentials) if store.credentials else {}
    try:
        said = platforms.get(store.platform).profile(settings, credentials, store.domain)
    except ConnectorError as exc:
        log.warning("store profile not read", extra={"store_id": store.id, "reason": exc.reason})
        return
    apply(store, said)


def apply(store: Store, said: StoreProfile) -> None:
    store.name = clean_name(said.name) or store.name
    store.locale = _locale(store, said.locale) or store.locale
    store.time_zone = _zone(store, said.time_zone) or store.time_zone
    store.currency = _currency(store, said.currency) or store.currency


def clean_name(raw: str | None) -> str | None:
    """One line of printable text, at most 255 characters; None if nothing is left."""
    if not raw:
        return None
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in raw)
    return " ".join(kept.split())[:255] or None


def _locale(store: Store, raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return str(Locale.parse(raw[:35].replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        log.warning("store locale ignored", extra={"store_id": store.id, "locale": raw[:35]})
        return None


def _zone(store: Store, raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        ZoneInfo(raw[:64])
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("store time zone ignored", extra={"store_id": store.id, "time_zone": raw[:64]})
        return None
    return raw[:64]


def _currency(store: Store, raw: str | None) -> str | None:
    """An ISO 4217 code Babel knows (upper-cased), else None (logged)."""
    if not raw:
        return None
    code = raw[:8].strip().upper()
    if len(code) == 3 and code.isalpha() and is_currency(code):
        return code
    log.warning("store currency ignored", extra={"store_id": store.id, "currency": raw[:8]})
    return None


def display_name(store: Store) -> str:
    return store.name or store.domain


def locale_of(store: Store) -> str:
    return store.locale or FALLBACK_LOCALE
