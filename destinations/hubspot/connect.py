"""Connecting HubSpot with a private-app token: the token is checked against the account it
belongs to before anything is kept, and the properties the connector owns are made once
(`prepare`) or verified (`missing`) — `destinations check` runs the latter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.errors import BadInput, Reauthorize, RetryLater
from destinations.hubspot.client import API, HubSpotClient
from destinations.hubspot.mapper import CUSTOM, ID_PROPERTY
from destinations.pacing import Pacing

GROUPS = {"contacts": "contactinformation", "orders": "orderinformation", "line_items": "lineiteminformation"}


def check(credentials: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    """The credentials to keep (token and portal), once HubSpot has accepted the token."""
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


def missing(client: HubSpotClient) -> list[str]:
    """The connector's properties HubSpot does not have yet, as object.property."""
    absent = []
    for obj, wanted in CUSTOM.items():
        have = {p.get("name") for p in client.call("GET", f"/crm/v3/properties/{obj}").get("results", [])}
        absent += [f"{obj}.{name}" for name in wanted if name not in have]
    return absent


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
