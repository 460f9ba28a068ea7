"""Connecting a WooCommerce site: the app-key approval flow (/wc-auth/v1/authorize).

`/woocommerce/connect` asks for the site's URL, remembers a single-use pending connection
(in Redis, 15 minutes) and sends the merchant to approve; WooCommerce POSTs the keys to
`/woocommerce/callback` naming that connection, and keeps them only if we answer exactly
200 — which we do only after the keys have been checked against the site itself.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, request
from flask.typing import ResponseReturnValue

from connector import db, logs, settings_of, vault_of
from connector.errors import BadInput, ConnectorError
from connector.models import Store
from connector.onboarding import after_install
from connector.queue import get_redis
from connector.stores import install_store
from connector.web import answer
from platforms.woocommerce.client import WooClient
from platforms.woocommerce.install import check_keys, normalize_store_url

bp = Blueprint("install_woo", __name__, url_prefix="/woocommerce")
log = logs.get(__name__)
PENDING_TTL_S = 900
FORM = """<!doctype html><title>Connect a WooCommerce store</title>
<form method="get" action="/woocommerce/connect"><label>Store URL
<input name="store_url" type="url" required placeholder="https://shop.example.com"></label>
<button>Connect</button></form>"""


def refuse(status: int, message: str) -> ResponseReturnValue:
    log.warning("woocommerce connect refused", extra={"reason": message})
    return answer(status, message)


@bp.get("/connect")
def connect() -> ResponseReturnValue:
    if not request.args.get("store_url"):
        return FORM, 200, {"Content-Type": "text/html; charset=utf-8"}
    try:
        url = normalize_store_url(request.args["store_url"])
    except BadInput as exc:
        return refuse(400, exc.reason)
    settings = settings_of(current_app)
    nonce = secrets.token_urlsafe(24)
    get_redis().set(f"crm:woo-pending:{nonce}", json.dumps({"url": url}), ex=PENDING_TTL_S)
    query = urlencode(
        {
            "app_name": "CRM Connector",
            "scope": "read_write",
            "user_id": nonce,
            "return_url": f"{settings.app_url}/woocommerce/return",
            "callback_url": f"{settings.app_url}/woocommerce/callback",
        }
    )
    return redirect(f"{url}/wc-auth/v1/authorize?{query}", 302)


@bp.post("/callback")
def callback() -> ResponseReturnValue:
    keys: dict[str, Any] = request.get_json(silent=True) or {}
    pending_raw = (
        get_redis().getdel(f"crm:woo-pending:{keys.get('user_id', '')}") if keys.get("user_id") else None
    )
    if pending_raw is None:
        return refuse(400, "no connection was started for this callback, or it expired")
    url = json.loads(pending_raw)["url"]
    try:
        key, secret = check_keys(str(keys.get("consumer_key", "")), str(keys.get("consumer_secret", "")))
        if "read" not in str(keys.get("key_permissions", "")):
            raise BadInput("the keys do not allow reading")
        WooClient(url, key, secret).get("orders", per_page=1)  # the keys really open this site
    except ConnectorError as exc:
        return refuse(400, f"the keys could not be used: {exc.reason}")
    store = _save(url, {"consumer_key": key, "consumer_secret": secret, "key_id": keys.get("key_id")})
    after_install(current_app._get_current_object(), store.id)  # type: ignore[attr-defined]
    log.info("woocommerce store connected", extra={"store_id": store.id})
    return "", 200


@bp.get("/return")
def returned() -> ResponseReturnValue:
    if request.args.get("success") != "1":
        return jsonify(status=200, message="The store owner declined the connection."), 200
    return jsonify(status=200, message="The store is connected."), 200


def _save(url: str, credentials: dict[str, Any]) -> Store:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.session(app) as s, s.begin():
        return install_store(s, vault_of(app), platform="woocommerce", domain=url, credentials=credentials)
