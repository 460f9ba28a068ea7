"""Platform credentials over time: expiring tokens are renewed before they lapse (the
platform says how: `refreshed`), and a Shopify shop still on a non-expiring token can be
moved to an expiring one.

Refresh tokens are single-use: the new credentials are sealed and committed before the
old ones are forgotten. A refusal (the merchant revoked the app) marks the store as
needing re-authorisation, in plain words, instead of failing every job that follows.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from sqlalchemy import select

import platforms
from connector import db, logs
from connector.accounts.stores import needs_reauthorisation
from connector.context import settings_of, vault_of
from connector.db.models import Store
from connector.errors import Reauthorize

log = logs.get(__name__)
REFRESH_AHEAD_S = 15 * 60


def _store_credentials(app: Flask, store_id: int, credentials: dict[str, Any]) -> None:
    with db.session(app) as s, s.begin():
        store = s.get(Store, store_id)
        assert store is not None
        store.credentials = vault_of(app).seal(credentials)


def _mark_reauthorize(app: Flask, store_id: int, reason: str) -> None:
    with db.session(app) as s, s.begin():
        store = s.get(Store, store_id)
        if store is not None:
            needs_reauthorisation(s, store, reason)


def _opened(app: Flask, store_id: int) -> tuple[str, str, dict[str, Any]]:
    """The store's platform, domain and credentials (opened)."""
    with db.session(app) as s:
        store = s.get(Store, store_id)
        assert store is not None
        credentials = vault_of(app).open(store.credentials) if store.credentials else {}
        return store.platform, store.domain, credentials


def refresh(app: Flask, store_id: int) -> bool:
    """Renew the store's expiring token now; False if the store must be reconnected."""
    platform, domain, credentials = _opened(app, store_id)
    try:
        renewed = platforms.get(platform).refreshed(settings_of(app), domain, credentials)
    except Reauthorize as exc:
        _mark_reauthorize(app, store_id, exc.reason)
        return False
    if renewed is None:
        return True  # a non-expiring token: nothing to renew
    _store_credentials(app, store_id, renewed)
    log.info("access token refreshed", extra={"store_id": store_id})
    return True


def migrate_to_expiring(app: Flask, store_id: int) -> None:
    """One-time, irreversible: exchange a Shopify shop's non-expiring offline token for an
    expiring one (Shopify alone has the two kinds; there is no such step elsewhere)."""
    from platforms.shopify.tokens import made_expiring

    _platform, domain, credentials = _opened(app, store_id)
    renewed = made_expiring(settings_of(app), domain, credentials)
    if renewed is None:
        return
    _store_credentials(app, store_id, renewed)
    log.info("access token migrated to expiring", extra={"store_id": store_id})


def refresh_due(credentials: dict[str, Any]) -> bool:
    """An expiring token that lapses within REFRESH_AHEAD_S (a sync must not start on it)."""
    expires = credentials.get("expires_at")
    return bool(credentials.get("refresh_token") and expires and expires - time.time() < REFRESH_AHEAD_S)


def refresh_expiring() -> dict[str, int]:
    """Cron job: renew every expiring token that lapses within the next 15 minutes."""
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    expiring = [p.NAME for p in platforms.every() if p.TOKENS_EXPIRE]
    due: list[int] = []
    with db.session(app) as s:
        active = select(Store).where(Store.platform.in_(expiring), Store.status == "active")
        for store in s.scalars(active):
            if refresh_due(vault_of(app).open(store.credentials) if store.credentials else {}):
                due.append(store.id)
    renewed = sum(refresh(app, store_id) for store_id in due)
    return {"due": len(due), "renewed": renewed}
