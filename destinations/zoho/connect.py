"""Connecting Zoho CRM with a self-client's refresh token at the org's data-centre accounts
server, or by a merchant's consent to the connector's server-based client (`authorization` at
accounts.zoho.com, then `redeem` at the accounts server the callback names, one of Zoho's): the
grant is tried and the API asked once before anything is kept (a refused grant, a wrong data
centre or an unreachable server is BadInput); the fields the connector owns are made once
(`prepare`) or verified (`missing`) — `destinations check` runs the latter.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from connector.errors import BadInput, FailPermanently, Reauthorize, RetryLater
from destinations.oauth import App, Grant, redeem_code, secure_address
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
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.fields.ALL,ZohoSearch.securesearch.READ,ZohoCRM.coql.READ"
PKCE = False  # Zoho documents PKCE for mobile and desktop clients, not server-based ones


def authorization(app: App, redirect_uri: str, state: str, challenge: str) -> str:
    """Zoho's consent page; offline access with consent asked again, so a refresh token comes back."""
    query = {"scope": SCOPES, "response_type": "code", "access_type": "offline", "prompt": "consent"}
    return app.authorization(query | {"redirect_uri": redirect_uri, "state": state})


def redeem(app: App, grant: Grant) -> dict[str, Any]:
    """The code exchanged at the user's own data centre's accounts server (the callback names it;
    only Zoho's, or the configured one, are sent the secret): what `check` takes."""
    accounts = _accounts_server(grant.returned.get("accounts-server") or grant.api_url, grant.api_url)
    no_refresh = "Zoho granted no refresh token (access_type=offline was refused)"
    answer, kept = redeem_code(app, grant, accounts + "/oauth/v2/token", no_refresh)
    secure_address(answer.get("api_domain"), grant.api_url, "the API domain")
    return kept | {"accounts_url": accounts}


def _accounts_server(given: str, configured: str) -> str:
    url = secure_address(given, configured, "the accounts server")
    parts, mine = urlsplit(url), urlsplit(configured)
    zoho = {urlsplit(u).netloc for u in ACCOUNTS.values()}
    if not (parts.netloc in zoho and parts.scheme == "https") and parts.netloc != mine.netloc:
        raise BadInput(
            f"the callback named {url!r}, which is not one of Zoho's accounts servers; nothing was saved"
        )
    return url


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
    """The connector's fields Zoho does not have yet, as Module.api_name (the modules listed at
    once, far below Zoho's concurrency limit)."""
    with ThreadPoolExecutor(len(CUSTOM), thread_name_prefix="zoho-setup") as pool:
        listed = dict(zip(CUSTOM, pool.map(lambda obj: client.fields(MODULE[obj]), CUSTOM), strict=True))
    absent = []
    for obj, wanted in CUSTOM.items():
        have = {f.get("api_name") for f in listed[obj]}
        absent += [f"{MODULE[obj]}.{name}" for name in wanted if name not in have]
    return absent


def prepare(client: ZohoClient) -> list[str]:
    """Make the fields that are missing (the connector ids unique), each module's at once;
    answers what is still missing."""
    by_module = {module: obj for obj, module in MODULE.items()}
    wanted: dict[str, list[dict[str, Any]]] = {}
    for ref in missing(client):
        module, name = ref.split(".", 1)
        wanted.setdefault(module, []).append(CUSTOM[by_module[module]][name])
    if wanted:
        with ThreadPoolExecutor(len(wanted), thread_name_prefix="zoho-setup") as pool:
            list(pool.map(lambda module: client.add_fields(module, wanted[module]), wanted))
    return missing(client) if wanted else []
