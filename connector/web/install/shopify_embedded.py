"""The connector as an embedded Shopify app: the way merchants meet apps in their admin.

Every embedded request carries an App Bridge session token (an HS256 JWT signed with the
app secret); ShopifyAPI's verifier checks signature, audience, expiry, not-before and
that issuer and destination are the same shop. A shop with no offline token yet gets
one by token exchange (managed installation). Pages may be framed only by that shop's
admin (Content-Security-Policy frame-ancestors, `web_security.framed_by_shop`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from shopify import session_token
from sqlalchemy import select

from connector import db, logs
from connector.context import settings_of
from connector.db.models import Store
from connector.errors import ConnectorError
from connector.web.common import requires_shopify
from connector.web.install.onboarding import after_install
from connector.web.install.shopify import _save
from connector.web.security import framed_by_shop
from platforms.shopify.tokens import request_grant

bp = Blueprint("embedded", __name__, url_prefix="/shopify")
log = logs.get(__name__)
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@bp.get("/app")
@requires_shopify
def app_home() -> ResponseReturnValue:
    settings = settings_of(current_app)
    token = request.args.get("id_token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
    try:
        claims = session_token.decode_from_header(
            f"Bearer {token}", settings.shopify_api_key, settings.shopify_api_secret
        )
    except session_token.SessionTokenError as exc:
        log.warning("embedded request refused", extra={"reason": str(exc)})
        return jsonify(status=401, message="a valid Shopify session token is required"), 401
    shop = urlparse(str(claims["dest"])).hostname or ""
    store_id = _installed_store(shop)
    if store_id is None:
        try:
            store = _save(shop, _exchange(shop, token))
        except ConnectorError as exc:
            return jsonify(status=502, message=f"the shop did not complete the install: {exc.reason}"), 502
        after_install(current_app._get_current_object(), store.id)  # type: ignore[attr-defined]
        store_id = store.id
    framed_by_shop(shop)
    page = Markup(
        "<!doctype html><title>CRM Connector</title><h1>{}</h1><p>Connected as store {}.</p>"
    ).format(shop, store_id)
    return page, 200, {"Content-Type": "text/html; charset=utf-8"}


def _installed_store(shop: str) -> int | None:
    with db.session(current_app._get_current_object()) as s:  # type: ignore[attr-defined]
        store = s.scalar(select(Store).where(Store.platform == "shopify", Store.domain == shop))
        return store.id if store is not None and store.credentials and store.status == "active" else None


def _exchange(shop: str, token: str) -> dict[str, Any]:
    """Managed installation: the session token itself is exchanged for an offline token."""
    return request_grant(
        settings_of(current_app),
        shop,
        {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": "1",
        },
    )
