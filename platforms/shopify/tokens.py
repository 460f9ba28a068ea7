"""Shopify access-token grants: the OAuth code exchange, refreshing an expiring offline
token, and exchanging a non-expiring one for an expiring one (all one endpoint).

Refresh tokens are single-use: the caller seals and commits the new pair before the old
one is forgotten. A refusal (the merchant revoked the app) raises Reauthorize.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from connector.config import Settings
from connector.errors import Reauthorize, RetryLater
from platforms.protocol import Credentials
from platforms.reach import why_unreachable

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"


def request_grant(settings: Settings, shop: str, form: dict[str, str]) -> dict[str, Any]:
    """POST to the shop's access_token endpoint with the app's credentials and `form`."""
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


def credentials_from(grant: dict[str, Any]) -> Credentials:
    """What we keep of a token grant (sealed before it is stored)."""
    return {
        "access_token": grant["access_token"],
        "scope": grant.get("scope"),
        "refresh_token": grant.get("refresh_token"),
        "expires_at": time.time() + grant["expires_in"] if grant.get("expires_in") else None,
    }


def refreshed(settings: Settings, domain: str, credentials: Credentials) -> Credentials | None:
    """New credentials for an expiring token; None for a non-expiring one (nothing to renew)."""
    if not credentials.get("refresh_token"):
        return None
    form = {"grant_type": "refresh_token", "refresh_token": credentials["refresh_token"]}
    return credentials_from(request_grant(settings, domain, form))


def made_expiring(settings: Settings, domain: str, credentials: Credentials) -> Credentials | None:
    """One-time, irreversible: an expiring token for a non-expiring one (None: already expiring)."""
    if credentials.get("refresh_token"):
        return None
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": credentials["access_token"],
        "subject_token_type": OFFLINE,
        "requested_token_type": OFFLINE,
        "expiring": "1",
    }
    return credentials_from(request_grant(settings, domain, form))
