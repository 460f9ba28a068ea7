"""Shopify access tokens over time: expiring offline tokens are refreshed before they
lapse, and a shop still on a non-expiring token can be moved to an expiring one.

Refresh tokens are single-use: the new pair is sealed and committed before the old one
is forgotten. A refusal (the merchant revoked the app) marks the store as needing
re-authorisation, in plain words, instead of failing every job that follows.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from connector import db, logs
from connector.accounts.stores import needs_reauthorisation
from connector.context import settings_of, vault_of
from connector.db.models import Store
from connector.errors import Reauthorize, RetryLater
from platforms.reach import why_unreachable

log = logs.get(__name__)
REFRESH_AHEAD_S = 15 * 60
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"


def request_grant(app: Flask, shop: str, form: dict[str, str]) -> dict[str, Any]:
    """POST to the shop's access_token endpoint with the app's credentials and `form`."""
    settings = settings_of(app)
    url = f"{settings.shopify_shop_url_template.format(shop=shop)}/admin/oauth/access_token"
    body = {
        "client_id": str(settings.shopify_api_key),
        "client_secret": str(settings.shopify_api_secret),
        **form,
    }
    try:
        answer = requests.post(url, data=body, timeout=15)
    except requests.RequestException as exc:
        raise RetryLater(f"the shop could not be reached: {why_unreachable(exc)}", detail=str(exc)) from None
    if answer.status_code in (400, 401, 403):
        raise Reauthorize("the shop refused the token request; the merchant must reconnect the app")
    if answer.status_code != 200:
        raise RetryLater(f"the token endpoint answered {answer.status_code}")
    grant: dict[str, Any] = answer.json()
    return grant


def credentials_from(grant: dict[str, Any]) -> dict[str, Any]:
    """What we keep of a token grant (sealed before it is stored)."""
    return {
        "access_token": grant["access_token"],
        "scope": grant.get("scope"),
        "refresh_token": grant.get("refresh_token"),
        "expires_at": time.time() + grant["expires_in"] if grant.get("expires_in") else None,
    }


def _store_grant(app: Flask, store_id: int, grant: dict[str, Any]) -> None:
    with db.session(app) as s, s.begin():
        store = s.get(Store, store_id)
        assert store is not None
        store.credentials = vault_of(app).seal(credentials_from(grant))


def _mark_reauthorize(app: Flask, store_id: int, reason: str) -> None:
    with db.session(app) as s, s.begin():
        store = s.get(Store, store_id)
        if store is not None:
            needs_reauthorisation(s, store, reason)


def refresh(app: Flask, store_id: int) -> bool:
    """Renew the store's expiring token now; False if the store must be reconnected."""
    with db.session(app) as s:
        store = s.get(Store, store_id)
        assert store is not None
        credentials, shop = vault_of(app).open(store.credentials) if store.credentials else {}, store.domain
    if not credentials.get("refresh_token"):
        return True  # a non-expiring token: nothing to renew
    try:
        grant = request_grant(
            app, shop, {"grant_type": "refresh_token", "refresh_token": credentials["refresh_token"]}
        )
    except Reauthorize as exc:
        _mark_reauthorize(app, store_id, exc.reason)
        return False
    _store_grant(app, store_id, grant)
    log.info("access token refreshed", extra={"store_id": store_id})
    return True


def migrate_to_expiring(app: Flask, store_id: int) -> None:
    """One-time, irreversible: exchange a non-expiring offline token for an expiring one."""
    with db.session(app) as s:
        store = s.get(Store, store_id)
        assert store is not None
        credentials, shop = vault_of(app).open(store.credentials) if store.credentials else {}, store.domain
    if credentials.get("refresh_token"):
        return
    grant = request_grant(
        app,
        shop,
        {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": credentials["access_token"],
            "subject_token_type": OFFLINE,
            "requested_token_type": OFFLINE,
            "expiring": "1",
        },
    )
    _store_grant(app, store_id, grant)
    log.info("access token migrated to expiring", extra={"store_id": store_id})


def refresh_due(credentials: dict[str, Any]) -> bool:
    """An expiring token that lapses within REFRESH_AHEAD_S (a sync must not start on it)."""
    expires = credentials.get("expires_at")
    return bool(credentials.get("refresh_token") and expires and expires - time.time() < REFRESH_AHEAD_S)


def refresh_expiring() -> dict[str, int]:
    """Cron job: renew every Shopify token that lapses within the next 15 minutes."""
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    due: list[int] = []
    with db.session(app) as s:
        for store in s.scalars(select(Store).where(Store.platform == "shopify", Store.status == "active")):
            if refresh_due(vault_of(app).open(store.credentials) if store.credentials else {}):
                due.append(store.id)
    renewed = sum(refresh(app, store_id) for store_id in due)
    return {"due": len(due), "renewed": renewed}
