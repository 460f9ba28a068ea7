"""Shopify install: what a valid shop address and a pasted access token look like.

A shop is named by its permanent `<name>.myshopify.com` domain; anything else (a
custom domain, `x.myshopify.com.evil.com`, a path or a port) is refused before any
outbound request is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from connector.errors import BadInput
from platforms.protocol import Connection

SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
ACCESS_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,255}")


def normalize_shop_domain(value: str) -> str:
    """`Example-Shop.myshopify.com` or `https://example-shop.myshopify.com/` → the bare lowercase domain."""
    shop = value.strip().lower()
    shop = re.sub(r"^https?://", "", shop).rstrip("/")
    if not SHOP_DOMAIN.fullmatch(shop):
        raise BadInput(f"{value!r} is not a Shopify shop domain; expected <name>.myshopify.com")
    return shop


def check_access_token(token: str) -> str:
    if not ACCESS_TOKEN.fullmatch(token or ""):
        raise BadInput("the access token should be 16 or more letters, digits, '_' or '-' (e.g. shpat_…)")
    return token


# --- OAuth (authorization code grant) ------------------------------------------------------------

OAUTH_TIMESTAMP_WINDOW_S = 300  # stricter than the official libraries (90 s JS, 24 h Python): 5 minutes


def query_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's query-string HMAC: drop hmac/signature, sort, join k=v with &, hex HMAC-SHA256."""
    import hashlib
    import hmac

    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query(params: dict[str, str], secret: str, now: float) -> None:
    """Reject a request Shopify did not sign, or signed too long ago (BadInput says which)."""
    import hmac

    given = params.get("hmac", "")
    if not given or not hmac.compare_digest(query_hmac(params, secret), given):
        raise BadInput("the request's hmac does not match: it was not signed by Shopify")
    try:
        stamp = int(params.get("timestamp", ""))
    except ValueError:
        raise BadInput("the request has no valid timestamp") from None
    if abs(now - stamp) > OAUTH_TIMESTAMP_WINDOW_S:
        raise BadInput("the request's timestamp is stale")


def granted_scopes_cover(granted: str, requested: str) -> bool:
    """Every requested scope was granted (write_x implies read_x)."""
    have = {s.strip() for s in granted.split(",") if s.strip()}
    have |= {"read_" + s[len("write_") :] for s in have if s.startswith("write_")}
    return {s.strip() for s in requested.split(",") if s.strip()} <= have


# --- checking a pasted token against the shop ------------------------------------------------------

WHO_AM_I = "{ shop { myshopifyDomain } currentAppInstallation { accessScopes { handle } } }"


def verify_token(shop_url: str, api_version: str, token: str, needed: str, timeout: float = 10.0) -> str:
    """Ask the shop who it is and which scopes the token has; the granted scopes, or BadInput
    saying which check failed (reachable, a Shopify shop, the token accepted, the scopes) and
    what to do."""
    import requests

    from platforms.reach import why_unreachable

    endpoint = f"{shop_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
    try:
        answer = requests.post(
            endpoint,
            json={"query": WHO_AM_I},
            headers={"X-Shopify-Access-Token": token},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise BadInput(f"{shop_url} cannot be reached ({why_unreachable(exc)}): check --shop") from None
    if answer.status_code == 404:
        raise BadInput(f"{shop_url} has no Shopify shop (HTTP 404): check --shop (<name>.myshopify.com)")
    if answer.status_code in (401, 403):
        raise BadInput(
            f"{shop_url} refused the access token (HTTP {answer.status_code}): copy the Admin API "
            "access token (shpat_…) from the custom app's API credentials"
        )
    if answer.status_code == 402:
        raise BadInput(f"{shop_url} is frozen or unpaid (HTTP 402): the merchant must reactivate it")
    granted = _granted(answer)
    if granted is None:
        raise BadInput(
            f"{shop_url} did not answer as Shopify's Admin API (HTTP {answer.status_code}): check --shop"
        )
    if not granted_scopes_cover(granted, needed):
        have = {s.strip() for s in granted.split(",")}
        missing = sorted(
            s for s in needed.split(",") if not granted_scopes_cover(granted, s) and s not in have
        )
        raise BadInput(
            f"the token lacks the scopes {', '.join(missing)}: grant them in the custom app's Admin API "
            "scopes, reinstall it and use the new token"
        )
    return granted


def _granted(answer: object) -> str | None:
    try:
        body = answer.json()  # type: ignore[attr-defined]
        scopes = body["data"]["currentAppInstallation"]["accessScopes"]
        return ",".join(str(s["handle"]) for s in scopes)
    except (ValueError, KeyError, TypeError):
        return None


# --- `crm-connector stores add-shopify` ------------------------------------------------------------


def connect_by_hand(options: Mapping[str, str]) -> Connection:
    """A shop and a pasted Admin API token (custom-app install), once the shop has accepted
    the token and its scopes; nothing is asked before both look right."""
    from connector.config_lookups import shopify_api_settings

    domain, token = normalize_shop_domain(options["shop"]), check_access_token(options["token"])
    api = shopify_api_settings()
    granted = verify_token(api.shop_url_template.format(shop=domain), api.version, token, api.scopes)
    return Connection(domain, {"access_token": token}, granted)
