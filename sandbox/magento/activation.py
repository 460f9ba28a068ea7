"""A Magento integration's activation, as the sandbox's Magento runs it: the admin's Activate
(`POST /magento/<store>/_sandbox/activate` with the integration's callback URL and identity
link) makes a consumer key and secret and a verifier and POSTs them, with the store's URL,
to the callback, then answers the identity link Magento would open in the admin's browser.
`POST /magento/<store>/oauth/token/request` and `…/oauth/token/access` check the OAuth 1.0a
`Authorization` header (RFC 5849: HMAC-SHA256 or HMAC-SHA1 over the signature base string,
keyed by the consumer secret and token secret; a nonce once; the consumer key fresh) and
answer form-encoded tokens; the access token then opens the REST API as a Bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import requests
from flask import Blueprint, Response, request

from sandbox.http import as_json
from sandbox.magento.app import store_of
from sandbox.world import MagentoStore

bp = Blueprint("sandbox_magento_oauth", __name__, url_prefix="/magento/<store_name>")
CONSUMER_TTL_S = 300  # Magento's default consumer key expiration (Consumer Settings)
TIMESTAMP_SKEW_S = 600
DIGESTS = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}
PAIR = re.compile(r'(\w+)="([^"]*)"')


def problem(what: str, status: int = 401) -> Response:
    """Magento's OAuth errors: a form-encoded `oauth_problem`."""
    return Response(urlencode({"oauth_problem": what}), status, mimetype="application/x-www-form-urlencoded")


def _store_url(store_name: str) -> str:
    return f"{request.host_url.rstrip('/')}/magento/{store_name}"


@bp.post("/_sandbox/activate")
def activate(store_name: str) -> Response:
    store = store_of(store_name)
    body = request.get_json(silent=True) or {}
    callback, identity = str(body.get("callback_url") or ""), str(body.get("identity_link") or "")
    if not callback.startswith(("http://", "https://")) or not identity.startswith(("http://", "https://")):
        return as_json({"message": "callback_url and identity_link must be http(s) URLs"}, 400)
    key, secret, verifier = (secrets.token_hex(16) for _ in range(3))
    store.consumers[key] = {"secret": secret, "verifier": verifier, "created": time.time(), "request": None}
    form = {
        "oauth_consumer_key": key,
        "oauth_consumer_secret": secret,
        "store_base_url": _store_url(store_name) + "/",
        "oauth_verifier": verifier,
    }
    try:
        answer = requests.post(callback, data=form, timeout=30, allow_redirects=False)
    except requests.RequestException as exc:
        return as_json({"message": f"the callback could not be reached: {type(exc).__name__}"}, 502)
    if answer.status_code != 200:
        return as_json({"message": "the callback refused the activation", "status": answer.status_code}, 502)
    back = f"{_store_url(store_name)}/admin/admin/integration/tokensExchange/"
    query = urlencode({"oauth_consumer_key": key, "success_call_back": back})
    return as_json({"identity_url": f"{identity}?{query}", "consumer_key": key})


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


def _oauth_params() -> dict[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "oauth":
        return None
    return {k: unquote(v) for k, v in PAIR.findall(rest) if k != "realm"}


def _base_string(params: dict[str, str]) -> str:
    parts = urlsplit(request.base_url)
    uri = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    pairs = [(k, v) for k, v in params.items() if k != "oauth_signature"]
    pairs += list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
    return "&".join((request.method.upper(), _enc(uri), _enc(normalized)))


def _checked(
    store: MagentoStore, token_secret: str | None
) -> tuple[dict[str, str], dict[str, Any]] | Response:
    """The request's OAuth parameters and its consumer, once the signature and freshness hold."""
    params = _oauth_params()
    if params is None:
        return problem("parameter_absent&oauth_parameters_absent=oauth_consumer_key", 400)
    consumer = store.consumers.get(params.get("oauth_consumer_key", ""))
    if consumer is None:
        return problem("consumer_key_rejected")
    if time.time() - consumer["created"] > CONSUMER_TTL_S:
        return problem("consumer_key_expired")  # UNVERIFIED wording: Magento says "Consumer key has expired"
    digest = DIGESTS.get(params.get("oauth_signature_method", ""))
    if digest is None:
        return problem("signature_method_rejected", 400)
    stamp = params.get("oauth_timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > TIMESTAMP_SKEW_S:
        return problem("timestamp_refused")
    nonce = (params["oauth_consumer_key"], params.get("oauth_nonce", ""))
    if not nonce[1] or nonce in store.nonces:
        return problem("nonce_used")
    key = f"{_enc(consumer['secret'])}&{_enc(token_secret or '')}"
    expected = base64.b64encode(hmac.new(key.encode(), _base_string(params).encode(), digest).digest())
    if not hmac.compare_digest(expected.decode(), params.get("oauth_signature", "")):
        return problem("signature_invalid")
    store.nonces.add(nonce)
    return params, consumer


def _tokens(token: str, secret: str) -> Response:
    body = urlencode({"oauth_token": token, "oauth_token_secret": secret})
    return Response(body, 200, mimetype="application/x-www-form-urlencoded")


@bp.post("/oauth/token/request")
def request_token(store_name: str) -> Response:
    store = store_of(store_name)
    checked = _checked(store, None)
    if isinstance(checked, Response):
        return checked
    _params, consumer = checked
    consumer["request"] = (secrets.token_hex(16), secrets.token_hex(16))
    return _tokens(*consumer["request"])


@bp.post("/oauth/token/access")
def access_token(store_name: str) -> Response:
    store = store_of(store_name)
    params = _oauth_params() or {}
    consumer = store.consumers.get(params.get("oauth_consumer_key", "")) or {}
    issued = consumer.get("request")
    if issued is None or not hmac.compare_digest(params.get("oauth_token", ""), issued[0]):
        return problem("token_rejected")
    checked = _checked(store, issued[1])
    if isinstance(checked, Response):
        return checked
    if not hmac.compare_digest(params.get("oauth_verifier", ""), consumer["verifier"]):
        return problem("verifier_invalid")
    consumer["request"] = None  # a request token is exchanged once
    token = secrets.token_hex(16)
    store.tokens.add(token)
    return _tokens(token, secrets.token_hex(16))
