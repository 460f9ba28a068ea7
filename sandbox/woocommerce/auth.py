"""WooCommerce REST authentication as the real plugin checks it.

Over https (the request's own scheme, or `X-Forwarded-Proto: https` from a TLS front):
consumer key/secret in the query string first, then HTTP Basic. Otherwise
(and as the fallback) one-legged OAuth 1.0a: HMAC-SHA1 or HMAC-SHA256 over
`METHOD&rawurlencode(url)&` + sorted params, each key and value RFC 3986-encoded and each
`key=value` pair encoded again, joined by %26,, keyed with
`consumer_secret&`, a timestamp within 15 minutes and a nonce never reused in that time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote, unquote

from flask import Request

from sandbox.addressing import over_tls, public_url
from sandbox.world import WooKey, WooSite

WINDOW_S = 15 * 60


class AuthError(Exception):
    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def authenticate(site: WooSite, request: Request) -> WooKey:
    if site.ssl or over_tls():
        key = _query_or_basic(site, request)
        if key is not None:
            return key
    return _oauth(site, request)


def authorize(key: WooKey, method: str) -> None:
    needed = "read" if method in ("GET", "HEAD") else "write"
    if needed not in key.permissions.split("_"):
        raise AuthError("The API key provided does not have the proper permissions.")


def _query_or_basic(site: WooSite, request: Request) -> WooKey | None:
    ck, cs = request.args.get("consumer_key"), request.args.get("consumer_secret")
    if not ck and request.authorization and request.authorization.type == "basic":
        ck, cs = request.authorization.username, request.authorization.password
    if not ck:
        return None
    key = site.keys.get(ck)
    if key is None:
        raise AuthError("Consumer key is invalid.")
    if not hmac.compare_digest(key.consumer_secret, cs or ""):
        raise AuthError("Consumer secret is invalid.")
    return key


def _oauth(site: WooSite, request: Request) -> WooKey:
    params = dict(request.args.items())
    if "oauth_consumer_key" not in params:
        raise AuthError("Sorry, you are not allowed to do that.")
    for name in (
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
    ):
        if not params.get(name):
            raise AuthError(f"Missing OAuth parameter {name}", 401)
    key = site.keys.get(params["oauth_consumer_key"])
    if key is None:
        raise AuthError("Consumer key is invalid.")
    method = params["oauth_signature_method"]
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise AuthError("Invalid signature method - must be HMAC-SHA1 or HMAC-SHA256.")
    given = unquote(params.pop("oauth_signature").replace(" ", "+"))
    expected = signature(request.method, public_url(), params, key.consumer_secret, method)
    if not hmac.compare_digest(expected, given):
        raise AuthError("Invalid signature - provided signature does not match.")
    _check_timestamp_and_nonce(site, key, params["oauth_timestamp"], params["oauth_nonce"])
    return key


def signature(method: str, url: str, params: dict[str, str], secret: str, algorithm: str) -> str:
    """The OAuth 1.0a signature WooCommerce computes (also usable by a client)."""
    # As the plugin does: encode each key and value, then encode each "key=value" pair again.
    normalized = sorted((_rfc3986(unquote(k)), _rfc3986(unquote(str(v)))) for k, v in params.items())
    query = "%26".join(_rfc3986(f"{k}={v}") for k, v in normalized)
    base = f"{method.upper()}&{_rfc3986(url)}&{query}"
    digest = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    return base64.b64encode(hmac.new(f"{secret}&".encode(), base.encode(), digest).digest()).decode()


def _rfc3986(value: str) -> str:
    return quote(value, safe="~")


def _check_timestamp_and_nonce(site: WooSite, key: WooKey, timestamp: str, nonce: str) -> None:
    now = time.time()
    try:
        at = int(timestamp)
    except ValueError:
        raise AuthError("Invalid timestamp.") from None
    if abs(now - at) > WINDOW_S:
        raise AuthError("Invalid timestamp.")
    for seen_key, seen_at in list(site.nonces.items()):
        if seen_at < now - WINDOW_S:
            del site.nonces[seen_key]
    if (key.consumer_key, nonce) in site.nonces:
        raise AuthError("Invalid nonce - nonce has already been used.")
    site.nonces[(key.consumer_key, nonce)] = now
