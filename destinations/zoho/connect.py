"""Connecting Zoho CRM with a self-client's refresh token at the org's data-centre accounts
server: the grant is tried and the API asked once before anything is kept (a refused grant, a
wrong data centre or an unreachable server is BadInput), and the fields the connector owns are
made once (`prepare`) or verified (`missing`) — `destinations check` runs the latter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connector.errors import BadInput, FailPermanently, Reauthorize, RetryLater
from destinations.zoho.client import ZohoClient
from destinations.zoho.mapper import CUSTOM, MODULE

# data centre → its accounts server, as Zoho's multi-DC documentation lists them
ACCOUNTS = {
    "us": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",
    "cn": "https://accounts.zoho.com.cn",
    "sa": "https://accounts.zoho.sa",
}
GRANT = ("client_id", "client_secret", "refresh_token")
REFUSED = {
    "invalid_client": "the client id is not registered in this data centre",
    "invalid_client_secret": "the client secret does not match the client id",
    "invalid_code": "the refresh token is expired, revoked or mistyped",
}


def check(credentials: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    """The credentials to keep (the grant, its accounts server and API domain), once Zoho took them."""
    accounts_url = _accounts_url(str(base_url or credentials.get("accounts_url") or ""))
    grant = {name: str(credentials.get(name) or "").strip() for name in GRANT}
    for name, value in grant.items():
        if not value or any(c.isspace() for c in value):
            raise BadInput(
                f"--{name.replace('_', '-')}: give the Zoho self-client's {name.replace('_', ' ')}"
            )
    client = ZohoClient(accounts_url, *grant.values())
    try:
        client.fields(MODULE["contacts"])  # signs in, then one call the connector needs to work
    except Reauthorize as exc:
        why = REFUSED.get(exc.detail or "", f"Zoho answered {exc.detail}")
        raise BadInput(
            f"Zoho's accounts server at {accounts_url} refused the grant: {why}; nothing was saved"
        ) from None
    except (RetryLater, FailPermanently) as exc:
        raise BadInput(
            f"Zoho at {accounts_url} could not be asked ({exc.reason}); nothing was saved"
        ) from None
    return {**grant, "accounts_url": accounts_url, "api_domain": client.api_domain}


def _accounts_url(given: str) -> str:
    url = ACCOUNTS.get(given.strip().lower(), given.strip()).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadInput(
            "--accounts-url: the accounts server of the org's data centre, e.g. https://accounts.zoho.eu "
            f"(or --data-center, one of {', '.join(ACCOUNTS)})"
        )
    return url


def missing(client: ZohoClient) -> list[str]:
    """The connector's fields Zoho does not have yet, as Module.api_name."""
    absent = []
    for obj, wanted in CUSTOM.items():
        have = {f.get("api_name") for f in client.fields(MODULE[obj])}
        absent += [f"{MODULE[obj]}.{name}" for name in wanted if name not in have]
    return absent


def prepare(client: ZohoClient) -> list[str]:
    """Make the fields that are missing (the connector ids unique); answers what is still missing."""
    by_module = {module: obj for obj, module in MODULE.items()}
    wanted: dict[str, list[dict[str, Any]]] = {}
    for ref in missing(client):
        module, name = ref.split(".", 1)
        wanted.setdefault(module, []).append(CUSTOM[by_module[module]][name])
    for module, specs in wanted.items():
        client.add_fields(module, specs)
    return missing(client) if wanted else []
