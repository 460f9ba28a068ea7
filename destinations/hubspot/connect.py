"""Connecting HubSpot with a private-app token, or by the connector's OAuth app (the dashboard's
authorization-code flow: `authorization`, then `redeem` at HubSpot's token endpoint): the token is
checked against the account it belongs to before anything is kept (an OAuth grant also names its
portal by the token-info endpoint), and the properties the connector owns are made once
(`prepare`) or verified (`missing`) — `destinations check` runs the latter.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests

from connector.errors import BadInput, FailPermanently, Reauthorize, RetryLater
from destinations.hubspot.client import API, INTROSPECT_PATH, TOKEN_PATH, HubSpotClient, Refresh
from destinations.hubspot.mapper import CUSTOM, ID_PROPERTY
from destinations.oauth import App, Grant, redeem_code
from destinations.pacing import Pacing

GROUPS = {"contacts": "contactinformation", "orders": "orderinformation", "line_items": "lineiteminformation"}
SCOPES = (
    "oauth crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.write "
    "crm.objects.orders.read crm.objects.orders.write crm.schemas.orders.write "
    "crm.objects.line_items.read crm.objects.line_items.write"
)
PKCE = False  # HubSpot documents no code_challenge on its authorize page (docs/platform-facts-extra.md)
GRANT = ("client_id", "client_secret", "refresh_token")


def authorization(app: App, redirect_uri: str, state: str, challenge: str) -> str:
    """HubSpot's install page for the connector's app (PKCE not sent: see `PKCE`)."""
    return app.authorization({"redirect_uri": redirect_uri, "scope": SCOPES, "state": state})


def redeem(app: App, grant: Grant) -> dict[str, Any]:
    """The code exchanged at HubSpot's token endpoint: what `check` takes for an OAuth portal."""
    no_refresh = "HubSpot's token answer holds no refresh token"
    answer, kept = redeem_code(app, grant, grant.api_url.rstrip("/") + TOKEN_PATH, no_refresh)
    return kept | {
        "token": answer["access_token"],
        "expires_in": answer.get("expires_in"),
        "base_url": grant.api_url.rstrip("/"),
    }


def client_of(credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing) -> HubSpotClient:
    """A client with the private-app token, or the OAuth portal's token and its `Refresh`."""
    url = base_url or str(credentials.get("base_url") or API)
    if not credentials.get("refresh_token"):
        return HubSpotClient(str(credentials["token"]), url, pacing)
    client_id, secret, refresh_token = (str(credentials[name]) for name in GRANT)
    refresh = Refresh(client_id, secret, refresh_token, float(credentials.get("expires_at") or 0))
    return HubSpotClient(str(credentials.get("token") or ""), url, pacing, refresh=refresh)


def check(credentials: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    """The credentials to keep (token and portal), once HubSpot has accepted the token."""
    if credentials.get("refresh_token"):
        return _check_oauth(credentials, base_url)
    token = str(credentials.get("token") or "").strip()
    if not token or any(c.isspace() for c in token):
        raise BadInput("--token: a HubSpot private-app token is one word (pat-…)")
    client = HubSpotClient(token, base_url or API, Pacing(backoff_s=0.5, max_tries=2))
    try:
        details = client.call("GET", "/account-info/v3/details")
    except Reauthorize:
        raise BadInput(
            "HubSpot did not accept the token (expired, revoked or mistyped); nothing was saved"
        ) from None
    except RetryLater as exc:
        raise BadInput(
            f"HubSpot at {base_url or API} could not be asked ({exc.reason}); nothing was saved"
        ) from None
    finally:
        client.close()
    return {"token": token, "portal_id": (details or {}).get("portalId"), "base_url": base_url or API}


def _check_oauth(credentials: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    """An OAuth portal's grant kept once its token answers (renewed first if it is refused), with
    the portal HubSpot's token-info endpoint names."""
    client = client_of(credentials, base_url, Pacing(backoff_s=0.5, max_tries=2))
    lifetime = float(credentials.get("expires_in") or 0)
    if client.refresh is not None and lifetime:
        client.refresh.expires_at = time.time() + lifetime
    try:
        details = client.call("GET", "/account-info/v3/details") or {}
        info = _introspected(client, credentials)
    except Reauthorize as exc:
        raise BadInput(f"HubSpot did not accept the grant ({exc.reason}); nothing was saved") from None
    except (RetryLater, FailPermanently) as exc:
        raise BadInput(
            f"HubSpot at {client.base_url} could not be asked ({exc.reason}); nothing was saved"
        ) from None
    finally:
        client.close()
    assert client.refresh is not None
    return {
        **{name: str(credentials[name]) for name in GRANT},
        "refresh_token": client.refresh.refresh_token,
        "token": client.token,
        "expires_at": client.refresh.expires_at,
        "portal_id": details.get("portalId") or info.get("hub_id"),
        "hub_domain": info.get("hub_domain"),
        "base_url": client.base_url,
    }


def _introspected(client: HubSpotClient, credentials: Mapping[str, Any]) -> dict[str, Any]:
    """What HubSpot's token introspection says of the access token (its portal's domain); an
    answer that is not one leaves the portal named by its id alone."""
    form = {
        "client_id": str(credentials["client_id"]),
        "client_secret": str(credentials["client_secret"]),
        "token": client.token,
        "token_type_hint": "access_token",
    }
    try:
        answer = client.http.post(client.base_url.rstrip("/") + INTROSPECT_PATH, data=form, timeout=30)
        body = answer.json() if answer.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def missing(client: HubSpotClient) -> list[str]:
    """The connector's properties HubSpot does not have yet, as object.property."""
    absent = []
    for obj, wanted in CUSTOM.items():
        have = property_names(client, obj)
        absent += [f"{obj}.{name}" for name in wanted if name not in have]
    return absent


def property_names(client: HubSpotClient, obj: str) -> set[str]:
    """The properties HubSpot has on this object (its own and custom ones)."""
    results = client.call("GET", f"/crm/v3/properties/{obj}").get("results", [])
    return {str(p.get("name")) for p in results if isinstance(p, dict)}


def prepare(client: HubSpotClient) -> list[str]:
    """Make the properties that are missing; the unique ids as unique properties."""
    for ref in missing(client):
        obj, name = ref.split(".", 1)
        kind, field_type = CUSTOM[obj][name]
        client.call(
            "POST",
            f"/crm/v3/properties/{obj}",
            {
                "name": name,
                "label": name.removeprefix("connector_").replace("_", " ").capitalize() + " (connector)",
                "type": kind,
                "fieldType": field_type,
                "groupName": GROUPS[obj],
                "hasUniqueValue": name == ID_PROPERTY[obj],
            },
        )
    return missing(client)
