"""Installing the connector on a Shopify shop: the OAuth authorization-code flow.

`/shopify/install` checks the shop domain (and Shopify's hmac when present), issues a
single-use state (kept in Redis, and bound to the browser's signed session), and sends the
merchant to the shop's authorize page. `/shopify/callback` checks shop, hmac, timestamp and
state, and spends the state, before any outbound request; exchanges the code for an
expiring offline token, verifies the granted scopes, stores the credentials sealed, and
registers the webhooks.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue

from connector import db, logs
from connector.accounts.stores import install_store
from connector.context import settings_of, vault_of
from connector.db.models import Store
from connector.errors import BadInput, ConnectorError
from connector.runtime.queue import get_redis
from connector.web.common import answer, requires_shopify
from connector.web.install import oauth_state
from connector.web.install.onboarding import after_install
from platforms.shopify.install import granted_scopes_cover, normalize_shop_domain, verify_query
from platforms.shopify.tokens import credentials_from, request_grant

bp = Blueprint("install", __name__)
log = logs.get(__name__)
STATE_TTL_S = 600


def refuse(status: int, message: str) -> ResponseReturnValue:
    log.warning("install refused", extra={"reason": message})
    return answer(status, message)


@bp.get("/shopify/install")
@requires_shopify
def shopify_install() -> ResponseReturnValue:
    settings = settings_of(current_app)
    params = request.args.to_dict()
    try:
        shop = normalize_shop_domain(params.get("shop", ""))
        if "hmac" in params:  # launched from Shopify: it must be Shopify's signature
            verify_query(params, str(settings.shopify_api_secret), time.time())
    except BadInput as exc:
        return refuse(400, exc.reason)
    state = oauth_state.issue(get_redis(), "shopify", {"shop": shop}, STATE_TTL_S)
    session["shopify_oauth"] = {"state": state, "shop": shop, "expires": time.time() + STATE_TTL_S}
    query = urlencode(
        {
            "client_id": settings.shopify_api_key,
            "scope": settings.shopify_scopes,
            "redirect_uri": f"{settings.app_url}/shopify/callback",
            "state": state,
        }
    )
    return redirect(
        f"{settings.shopify_shop_url_template.format(shop=shop)}/admin/oauth/authorize?{query}", 302
    )


@bp.get("/shopify/callback")
@requires_shopify
def shopify_callback() -> ResponseReturnValue:
    settings = settings_of(current_app)
    params = request.args.to_dict()
    pending = session.pop("shopify_oauth", None)  # single use, whatever happens next
    try:
        shop = normalize_shop_domain(params.get("shop", ""))
        verify_query(params, str(settings.shopify_api_secret), time.time())
        if not pending or pending.get("expires", 0) < time.time():
            raise BadInput("no install was started in this browser, or it expired: start again")
        if (
            not secrets.compare_digest(str(pending.get("state")), params.get("state", ""))
            or pending["shop"] != shop
        ):
            raise BadInput("the state does not match the install this browser started")
        spent = oauth_state.take(get_redis(), "shopify", params.get("state"))
        if spent is None or spent.get("shop") != shop:  # a replayed cookie still holds the state
            raise BadInput("this install was completed already, or it expired: start again")
        if not params.get("code"):
            raise BadInput("the callback has no code")
    except BadInput as exc:
        return refuse(400, exc.reason)
    try:
        grant = _exchange(shop, params["code"])
        if not granted_scopes_cover(grant.get("scope", ""), settings.shopify_scopes):
            return refuse(403, f"the shop granted {grant.get('scope')!r}, not the scopes the connector needs")
        store = _save(shop, grant)
    except ConnectorError as exc:
        return refuse(502, f"the shop did not complete the install: {exc.reason}")
    after_install(current_app._get_current_object(), store.id)  # type: ignore[attr-defined]
    log.info("shop installed", extra={"store_id": store.id, "shop": shop})
    return jsonify(status=200, message=f"{shop} is connected", store_id=store.id), 200


def _exchange(shop: str, code: str) -> dict[str, Any]:
    return request_grant(settings_of(current_app), shop, {"code": code, "expiring": "1"})


def _save(shop: str, grant: dict[str, Any]) -> Store:
    """The shop's store row (re-installs reuse it and its data), with the grant sealed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.session(app) as s, s.begin():
        store = install_store(
            s, vault_of(app), platform="shopify", domain=shop, credentials=credentials_from(grant)
        )
        store.scopes = grant.get("scope")
        return store
