"""Connecting a Salesforce org by the client-credentials grant of a connected app, or by a
merchant's consent to the connector's own connected app (the dashboard's web-server flow with
PKCE: `authorization`, then `redeem` at the login host, whose answer names the org's
`instance_url`): the org's address, the app's key and secret (and the refresh token, if any) are
checked by signing in and reading a Contact before anything is kept; the fields the connector
owns are made once by the Tooling API (`prepare`) or verified (`missing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from connector.errors import BadInput, FailPermanently, Reauthorize, RetryLater
from destinations.oauth import App, Grant, redeem_code, secure_address
from destinations.pacing import Pacing
from destinations.salesforce.client import SalesforceClient
from destinations.salesforce.mapper import CUSTOM

EXAMPLE = "https://MyDomainName.my.salesforce.com"
SCOPES = "api refresh_token"
PKCE = True
AT_ONCE = 10  # setup calls in flight at once


def authorization(app: App, redirect_uri: str, state: str, challenge: str) -> str:
    """The login host's authorize page, with the PKCE challenge (S256)."""
    query = {"response_type": "code", "redirect_uri": redirect_uri, "scope": SCOPES, "state": state}
    return app.authorization(query | {"code_challenge": challenge, "code_challenge_method": "S256"})


def redeem(app: App, grant: Grant) -> dict[str, Any]:
    """The code and its verifier exchanged at the login host: what `check` takes (the org's
    instance URL, https, and the refresh token the `refresh_token` scope grants)."""
    token_url = grant.api_url.rstrip("/") + "/services/oauth2/token"
    no_refresh = "Salesforce granted no refresh token: the connected app needs the refresh_token scope"
    answer, kept = redeem_code(app, grant, token_url, no_refresh, code_verifier=grant.verifier)
    return {
        "instance_url": secure_address(answer.get("instance_url"), grant.api_url, "the instance URL")
    } | kept


def client_of(credentials: Mapping[str, Any], pacing: Pacing | None = None) -> SalesforceClient:
    return SalesforceClient(
        str(credentials["instance_url"]),
        str(credentials["client_id"]),
        str(credentials["client_secret"]),
        pacing=pacing,
        refresh_token=str(credentials.get("refresh_token") or "") or None,
    )


def check(credentials: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    """The credentials to keep, once the org has signed the app in and answered a call."""
    given = {k: str(credentials.get(k) or "").strip() for k in ("instance_url", "client_id", "client_secret")}
    url = (base_url or given["instance_url"]).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
        raise BadInput(f"--instance-url: the org's My Domain address over https, e.g. {EXAMPLE}")
    for name in ("client_id", "client_secret"):
        if not given[name] or any(c.isspace() for c in given[name]):
            raise BadInput(
                f"--{name.replace('_', '-')}: the connected app's consumer key and secret, one word each"
            )
    kept = given | {"instance_url": url}
    if credentials.get("refresh_token"):
        kept["refresh_token"] = str(credentials["refresh_token"])
    client = client_of(kept, Pacing(backoff_s=0.5, max_tries=2))
    try:
        client.sign_in()
        client.rows("SELECT Id FROM Contact LIMIT 1")
    except Reauthorize as exc:
        raise BadInput(
            f"Salesforce at {url} did not accept the app: {exc.reason}; nothing was saved"
        ) from None
    except RetryLater as exc:
        raise BadInput(f"Salesforce at {url} could not be asked ({exc.reason}); nothing was saved") from None
    except FailPermanently as exc:
        raise BadInput(
            f"{url} did not answer as a Salesforce org ({exc.reason}); give its My Domain address, "
            f"e.g. {EXAMPLE}; nothing was saved"
        ) from None
    return kept


def missing(client: SalesforceClient) -> list[str]:
    """The connector's fields the org does not have (or the app cannot see), as Object.Field__c
    (each object described in a thread of its own: requests under 20 s have no concurrency limit)."""
    with ThreadPoolExecutor(AT_ONCE, thread_name_prefix="salesforce-setup") as pool:
        found = dict(zip(CUSTOM, pool.map(client.field_names, CUSTOM), strict=True))
    absent = []
    for sobject, wanted in CUSTOM.items():
        have = {n.lower() for n in found[sobject]}
        absent += [f"{sobject}.{name}" for name in wanted if name.lower() not in have]
    return absent


def prepare(client: SalesforceClient) -> list[str]:
    """Make the fields that are missing, up to AT_ONCE at a time, then one at a time those that
    failed so (two changes to one object at once may meet a lock); those the org refuses stay
    listed (a one-time setup step)."""
    wanted = missing(client)
    with ThreadPoolExecutor(AT_ONCE, thread_name_prefix="salesforce-setup") as pool:
        made = list(pool.map(lambda ref: _make_field(client, ref), wanted))
    for ref in [r for r, ok in zip(wanted, made, strict=True) if not ok]:
        _make_field(client, ref)
    return missing(client)


def _make_field(client: SalesforceClient, ref: str) -> bool:
    """Whether the field was made (refused: e.g. the app's user may not customize the org, the
    README's setup step)."""
    sobject, name = ref.split(".", 1)
    try:
        client.create_field(sobject, name, CUSTOM[sobject][name])
    except FailPermanently:
        return False
    return True
