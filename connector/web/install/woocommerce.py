"""Connecting a WooCommerce site: the app-key approval flow (/wc-auth/v1/authorize).

`/woocommerce/connect` (signed in to the dashboard) asks for the site's URL; the form,
posted with its CSRF token (a link alone starts nothing), is checked to name a URL the
server may reach (`outbound`), a single-use pending connection for the signed-in user's
account is remembered (in Redis, 15 minutes) and the merchant is sent to approve;
WooCommerce POSTs the keys to `/woocommerce/callback` naming that connection, and keeps
them only if we answer exactly 200 — which we do only after one request to the site (no
redirects followed) has shown the keys open its orders. Every way the site fails to answer
gets the same words, so the answer maps no network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests
from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from connector import db, logs
from connector.accounts.stores import connect_store
from connector.context import settings_of, vault_of
from connector.db.models import Account, Store
from connector.errors import BadInput, ConnectorError
from connector.runtime.queue import get_redis
from connector.web.common import answer
from connector.web.dashboard import login_required
from connector.web.install import oauth_state
from connector.web.install.onboarding import after_install
from connector.web.install.outbound import UNREACHABLE, check_reachable
from connector.web.security import form_leaves_site
from platforms.woocommerce.client import WooClient
from platforms.woocommerce.install import check_keys, normalize_store_url

bp = Blueprint("install_woo", __name__, url_prefix="/woocommerce")
log = logs.get(__name__)
PENDING_TTL_S = 900
PROBE_TIMEOUT_S = 15


def refuse(status: int, message: str) -> ResponseReturnValue:
    log.warning("woocommerce connect refused", extra={"reason": message})
    return answer(status, message)


@bp.route("/connect", methods=["GET", "POST"])
@login_required
def connect() -> ResponseReturnValue:
    """The form (a link may fill in the URL, never send it), then, posted with its CSRF token
    by the signed-in user, the redirect to the site's approval page."""
    form_leaves_site()  # the form's answer is a redirect to the site's approval page
    if request.method == "GET":
        return render_template("connect_woo.html", store_url=request.args.get("store_url", ""), error=None)
    settings = settings_of(current_app)
    given = request.form.get("store_url", "")
    try:
        url = normalize_store_url(given)
        check_reachable(url, allow_private=settings.allow_private_urls)
    except BadInput as exc:
        log.warning("woocommerce connect refused", extra={"reason": exc.reason})
        return render_template("connect_woo.html", store_url=given, error=exc.reason), 400
    pending = {"url": url, "account_id": g.account_id}
    nonce = oauth_state.issue(get_redis(), "woocommerce", pending, PENDING_TTL_S)
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
    keys = keys if isinstance(keys, dict) else {}
    pending = oauth_state.take(get_redis(), "woocommerce", keys.get("user_id"))
    if pending is None:
        return refuse(400, "no connection was started for this callback, or it expired")
    url = pending["url"]
    try:
        key, secret = check_keys(str(keys.get("consumer_key", "")), str(keys.get("consumer_secret", "")))
        if "read" not in str(keys.get("key_permissions", "")):
            raise BadInput("the keys do not allow reading")
    except BadInput as exc:
        return refuse(400, f"the keys could not be used: {exc.reason}")
    try:
        _probe(url, key, secret)
        store = _save(pending, {"consumer_key": key, "consumer_secret": secret, "key_id": keys.get("key_id")})
    except BadInput as exc:
        return refuse(400, exc.reason)
    after_install(current_app._get_current_object(), store.id)  # type: ignore[attr-defined]
    log.info("woocommerce store connected", extra={"store_id": store.id})
    return "", 200


def _probe(url: str, key: str, secret: str) -> None:
    """One request for one order, redirects not followed: the keys really open this site.
    The address is checked again first (the name may resolve elsewhere by now)."""
    check_reachable(url, allow_private=settings_of(current_app).allow_private_urls)
    client = WooClient(url, key, secret, timeout=PROBE_TIMEOUT_S)
    try:
        found = client.api.get("orders", params={"per_page": 1}, allow_redirects=False)
        orders = found.json() if found.status_code == 200 else None
    except (requests.RequestException, ValueError):
        orders = None
    if not isinstance(orders, list):
        raise BadInput(UNREACHABLE)


@bp.get("/return")
def returned() -> ResponseReturnValue:
    if request.args.get("success") != "1":
        return jsonify(status=200, message="The store owner declined the connection."), 200
    return jsonify(status=200, message="The store is connected."), 200


def _save(pending: dict[str, Any], credentials: dict[str, Any]) -> Store:
    """The site joins the account of the user who started the connection (never a new one)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.session(app) as s, s.begin():
        account = s.get(Account, pending["account_id"])
        if account is None:
            raise BadInput("the account that started this connection no longer exists")
        try:
            return connect_store(
                s, vault_of(app), account=account, platform="woocommerce", domain=pending["url"],
                credentials=credentials,
            )  # fmt: skip
        except ConnectorError as exc:
            raise BadInput(exc.reason) from None
