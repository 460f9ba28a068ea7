"""Webhook subscriptions: which the connector needs on each store, whether the platform
still has them, and the repair that makes it so.

Platforms drop or disable a subscription after a few failed deliveries, silently; `check`
compares the platform's list with what it needs, and `repair` creates what is missing and
replaces what is disabled (each platform's own subscriptions.py says how).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

import platforms
from connector import db, logs
from connector.accounts import profiles
from connector.accounts.stores import needs_reauthorisation, webhook_secret
from connector.config import Settings
from connector.context import settings_of, vault_of
from connector.crypto import Vault
from connector.db.models import Store
from connector.errors import ConnectorError, Reauthorize
from platforms.protocol import SubscriptionState

log = logs.get(__name__)


@dataclass
class Health:
    store_id: int
    address: str
    healthy: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.disabled

    def as_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "address": self.address,
            "ok": self.ok,
            "healthy": self.healthy,
            "missing": self.missing,
            "disabled": self.disabled,
        }


def address(settings: Settings, store: Store) -> str:
    """Where the platform delivers: one URL for an app-signed platform, one per store (its
    URL key) for a platform whose stores sign with their own secret."""
    url = f"{settings.app_url}/webhooks/{store.platform}"
    return f"{url}/{store.store_key}" if platforms.get(store.platform).SIGNED_BY == "store" else url


def check(settings: Settings, vault: Vault, store: Store) -> Health:
    """The platform's subscriptions against those needed; the store's profile (name, locale,
    time zone) is read again on the way (the caller commits the store)."""
    profiles.refresh(settings, vault, store)
    platform, where = platforms.get(store.platform), address(settings, store)
    return _health(
        store, where, platform.subscriptions(settings, _credentials(vault, store), store.domain, where)
    )


def repair(settings: Settings, vault: Vault, store: Store) -> Health:
    """Make the platform's subscriptions what they should be; returns the health afterwards.
    Creates the store's webhook secret if it signs with its own and has none (the caller
    commits the store)."""
    platform, where, credentials = (
        platforms.get(store.platform),
        address(settings, store),
        _credentials(vault, store),
    )
    secret = webhook_secret(vault, store) if platform.SIGNED_BY == "store" else None
    profiles.refresh(settings, vault, store)
    platform.repair_subscriptions(settings, credentials, store.domain, where, secret)
    return _health(store, where, platform.subscriptions(settings, credentials, store.domain, where))


def _credentials(vault: Vault, store: Store) -> dict[str, Any]:
    return vault.open(store.credentials) if store.credentials else {}


def _health(store: Store, where: str, state: SubscriptionState) -> Health:
    return Health(store.id, where, list(state.healthy), list(state.missing), list(state.disabled))


def register_after_install(app: Flask, store_id: int) -> Health | None:
    """Register a newly installed store's webhooks; a failure leaves the install standing
    (the store's webhook health shows what is missing, and `repair` fixes it)."""
    try:
        with db.session(app) as s, s.begin():
            store = s.get(Store, store_id)
            if store is None:
                return None
            return repair(settings_of(app), vault_of(app), store)
    except Reauthorize as exc:
        with db.session(app) as s, s.begin():
            store = s.get(Store, store_id)
            if store is not None:
                needs_reauthorisation(s, store, exc.reason)
        return None
    except ConnectorError as exc:
        log.warning("webhook registration failed", extra={"store_id": store_id, "reason": exc.reason})
        return None
