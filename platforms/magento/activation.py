"""Magento's integration activation: the OAuth 1.0a handshake Magento starts when an admin
activates an integration. Magento POSTs the consumer key and secret, an `oauth_verifier` and
its base URL to the integration's callback URL, and opens its identity link; the app then
asks `POST /oauth/token/request` for a request token and `POST /oauth/token/access` for the
access token, each signed HMAC-SHA256 with the consumer secret (and the request token's
secret). The access token is then used as a Bearer token like a pasted one, and checked the
same way before anything is saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from connector.errors import BadInput
from platforms.magento.install import check_token, normalize_store_url, verify_token
from platforms.protocol import Connection
from platforms.reach import why_unreachable

KEY = re.compile(r"[A-Za-z0-9]{16,64}")  # Magento's consumer keys, secrets and verifiers: 32 [a-z0-9]
REFUSED = "the store refused the activation's token exchange"


@dataclass(frozen=True)
class Activation:
    """What Magento POSTs to the callback URL when the integration is activated."""

    store_url: str
    consumer_key: str
    consumer_secret: str
    verifier: str


def activation_of(form: Mapping[str, str]) -> Activation:
    """The callback's form, each field checked (BadInput names the first that is wrong)."""
    fields = {}
    for name in ("oauth_consumer_key", "oauth_consumer_secret", "oauth_verifier"):
        value = str(form.get(name) or "").strip()
        if not KEY.fullmatch(value):
            raise BadInput(f"{name} is missing or not what Magento sends")
        fields[name] = value
    return Activation(
        normalize_store_url(str(form.get("store_base_url") or "")),
        fields["oauth_consumer_key"],
        fields["oauth_consumer_secret"],
        fields["oauth_verifier"],
    )


def _signed_post(url: str, client: Client, timeout: float) -> dict[str, str]:
    """One signed POST of the exchange; the token and its secret from the form answer."""
    uri, headers, _body = client.sign(url, http_method="POST")
    try:
        answer = requests.post(uri, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise BadInput(f"the store cannot be reached ({why_unreachable(exc)})") from None
    given = dict(parse_qsl(answer.text[:4000])) if answer.status_code == 200 else {}
    if not (given.get("oauth_token") and given.get("oauth_token_secret")):
        shown = "".join(c for c in answer.text[:120] if c.isprintable())
        raise BadInput(f"{REFUSED} (HTTP {answer.status_code}: {shown})")
    return given


def exchange(activation: Activation, timeout: float = 15.0) -> str:
    """The request token, then the access token, as Magento's OAuth endpoints give them."""
    base = f"{activation.store_url}/oauth/token"
    key, secret = activation.consumer_key, activation.consumer_secret
    request = _signed_post(
        f"{base}/request", Client(key, client_secret=secret, signature_method=SIGNATURE_HMAC_SHA256), timeout
    )
    access = Client(
        key,
        client_secret=secret,
        resource_owner_key=request["oauth_token"],
        resource_owner_secret=request["oauth_token_secret"],
        verifier=activation.verifier,
        signature_method=SIGNATURE_HMAC_SHA256,
    )
    return _signed_post(f"{base}/access", access, timeout)["oauth_token"]


def connect_by_activation(activation: Activation) -> Connection:
    """The handshake, then the access token tried as a pasted one would be."""
    token = check_token(exchange(activation))
    verify_token(activation.store_url, token)
    return Connection(activation.store_url, {"access_token": token}, None)
